-- One row per signal, which is also its paper trade (DESIGN.md §2).
-- Times are UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]' so range comparisons on them are correct.
CREATE TABLE signals (
    id INTEGER PRIMARY KEY NOT NULL,
    symbol TEXT NOT NULL CHECK (symbol <> '' AND symbol = upper(symbol)),
    direction TEXT NOT NULL CHECK (direction IN ('LONG', 'SHORT')),
    status TEXT NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'CLOSED', 'CANCELLED')),
    entry_price REAL NOT NULL CHECK (entry_price > 0),
    stop_loss REAL NOT NULL CHECK (stop_loss > 0),
    take_profit REAL NOT NULL CHECK (take_profit > 0),
    quantity REAL NOT NULL CHECK (quantity > 0),
    risk_amount REAL NOT NULL CHECK (risk_amount >= 0),
    confidence REAL NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
    strategy TEXT NOT NULL,
    timeframe TEXT,
    external_id TEXT,
    reasons TEXT NOT NULL DEFAULT '',
    notes TEXT,
    current_price REAL NOT NULL,
    unrealized_pnl REAL NOT NULL DEFAULT 0,
    max_favorable_price REAL NOT NULL,
    max_adverse_price REAL NOT NULL,
    exit_price REAL,
    exit_reason TEXT CHECK (exit_reason IS NULL OR exit_reason IN
        ('TAKE_PROFIT', 'STOP_LOSS', 'MANUAL', 'END_OF_DAY', 'MAX_DURATION')),
    pnl REAL,
    fees REAL NOT NULL DEFAULT 0 CHECK (fees >= 0),
    created_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL,
    -- Levels on the right side of the entry: a SHORT with a LONG's levels can never be stored
    -- (the original lost the side and closed every SELL at once, ORIGINAL.md §5.1).
    CHECK ((direction = 'LONG' AND stop_loss < entry_price AND entry_price < take_profit)
        OR (direction = 'SHORT' AND take_profit < entry_price AND entry_price < stop_loss)),
    -- A closed trade carries its whole exit; an open one carries none of it.
    CHECK ((status = 'CLOSED') = (exit_price IS NOT NULL AND exit_reason IS NOT NULL
        AND pnl IS NOT NULL AND closed_at IS NOT NULL))
);

CREATE UNIQUE INDEX signals_external_id_key ON signals (external_id) WHERE external_id IS NOT NULL;
CREATE INDEX signals_status_idx ON signals (status);
CREATE INDEX signals_created_at_idx ON signals (created_at);
CREATE INDEX signals_closed_at_idx ON signals (closed_at);
CREATE INDEX signals_symbol_status_idx ON signals (symbol, status);
