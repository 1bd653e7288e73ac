-- The trading journal: one entry per closed trade, written in the transaction that closes it.
CREATE TABLE journal_entries (
    id INTEGER PRIMARY KEY NOT NULL,
    signal_id INTEGER NOT NULL UNIQUE REFERENCES signals (id),
    symbol TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('LONG', 'SHORT')),
    entry_price REAL NOT NULL,
    exit_price REAL NOT NULL,
    quantity REAL NOT NULL,
    pnl REAL NOT NULL,
    pnl_pct REAL NOT NULL,
    r_multiple REAL NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('WIN', 'LOSS', 'BREAKEVEN')),
    exit_reason TEXT NOT NULL CHECK (exit_reason IN
        ('TAKE_PROFIT', 'STOP_LOSS', 'MANUAL', 'END_OF_DAY', 'MAX_DURATION')),
    opened_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP NOT NULL,
    duration_secs BIGINT NOT NULL CHECK (duration_secs >= 0),
    balance_after REAL NOT NULL,
    notes TEXT,
    tags TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE INDEX journal_entries_closed_at_idx ON journal_entries (closed_at);
CREATE INDEX journal_entries_symbol_closed_at_idx ON journal_entries (symbol, closed_at);
