-- Back to one exit per trade and a fixed stop. Lossy by nature: a moved stop returns to the
-- initial stop, and the new exit reasons read as the nearest old one (a partial target or the
-- final target TAKE_PROFIT, a breakeven or trailing stop STOP_LOSS).
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

DROP TABLE stop_moves;
DROP TABLE trade_exits;

CREATE TABLE signals_old (
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
    CHECK ((direction = 'LONG' AND stop_loss < entry_price AND entry_price < take_profit)
        OR (direction = 'SHORT' AND take_profit < entry_price AND entry_price < stop_loss)),
    CHECK ((status = 'CLOSED') = (exit_price IS NOT NULL AND exit_reason IS NOT NULL
        AND pnl IS NOT NULL AND closed_at IS NOT NULL))
);

INSERT INTO signals_old
SELECT id, symbol, direction, status, entry_price, initial_stop_loss, take_profit, quantity,
    risk_amount, confidence, strategy, timeframe, external_id, reasons, notes, current_price,
    unrealized_pnl, max_favorable_price, max_adverse_price, exit_price,
    CASE exit_reason WHEN 'PARTIAL_TAKE_PROFIT' THEN 'TAKE_PROFIT'
        WHEN 'BREAKEVEN_STOP' THEN 'STOP_LOSS' WHEN 'TRAILING_STOP' THEN 'STOP_LOSS'
        ELSE exit_reason END,
    pnl, fees, created_at, closed_at, updated_at
FROM signals;

CREATE TABLE journal_entries_old (
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

INSERT INTO journal_entries_old
SELECT id, signal_id, symbol, direction, entry_price, exit_price, quantity, pnl, pnl_pct,
    r_multiple, outcome,
    CASE exit_reason WHEN 'PARTIAL_TAKE_PROFIT' THEN 'TAKE_PROFIT'
        WHEN 'BREAKEVEN_STOP' THEN 'STOP_LOSS' WHEN 'TRAILING_STOP' THEN 'STOP_LOSS'
        ELSE exit_reason END,
    opened_at, closed_at, duration_secs, balance_after, notes, tags, created_at, updated_at
FROM journal_entries;

DROP TABLE journal_entries;
DROP TABLE signals;
ALTER TABLE signals_old RENAME TO signals;
ALTER TABLE journal_entries_old RENAME TO journal_entries;

CREATE UNIQUE INDEX signals_external_id_key ON signals (external_id) WHERE external_id IS NOT NULL;
CREATE INDEX signals_status_idx ON signals (status);
CREATE INDEX signals_created_at_idx ON signals (created_at);
CREATE INDEX signals_closed_at_idx ON signals (closed_at);
CREATE INDEX signals_symbol_status_idx ON signals (symbol, status);
CREATE INDEX signals_active_idx ON signals (symbol, id) WHERE status = 'ACTIVE';
CREATE INDEX signals_symbol_closed_at_idx ON signals (symbol, closed_at);
CREATE INDEX journal_entries_closed_at_idx ON journal_entries (closed_at);
CREATE INDEX journal_entries_symbol_closed_at_idx ON journal_entries (symbol, closed_at);

COMMIT;
PRAGMA foreign_keys = ON;
