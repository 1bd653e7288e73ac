-- Trade management (DESIGN.md §10): partial take-profits, breakeven and trailing stops.
--
-- `signals` gains the initial stop (risk and R are measured from it), the remaining quantity,
-- the pnl booked so far and the management settings; `stop_loss` is now the stop in force, which
-- may reach the entry (breakeven) and beyond (a trailing stop), so the level CHECK bounds the
-- initial stop and keeps the stop in force between it and the target. Exit reasons gain
-- PARTIAL_TAKE_PROFIT, BREAKEVEN_STOP and TRAILING_STOP. `trade_exits` holds every exit,
-- `stop_moves` every stop change. Existing trades keep every invariant: an open trade's initial
-- stop is its stop and its remaining quantity its quantity; a closed trade gets the one exit it
-- had (its whole quantity at its exit price, its fees and pnl, the balance after it from its
-- journal entry) and nothing left open; its entry fee is its fees' share of the entry fill (both
-- fills paid the same rate).
--
-- SQLite cannot change a CHECK in place, so both tables are rebuilt with foreign keys off, in
-- one transaction (metadata.toml: diesel runs this script outside its own).
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE signals_new (
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
        ('PARTIAL_TAKE_PROFIT', 'TAKE_PROFIT', 'STOP_LOSS', 'BREAKEVEN_STOP', 'TRAILING_STOP',
         'MANUAL', 'END_OF_DAY', 'MAX_DURATION')),
    pnl REAL,
    fees REAL NOT NULL DEFAULT 0 CHECK (fees >= 0),
    created_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL,
    initial_stop_loss DOUBLE PRECISION NOT NULL CHECK (initial_stop_loss > 0),
    remaining_quantity DOUBLE PRECISION NOT NULL CHECK (remaining_quantity >= 0),
    realized_pnl DOUBLE PRECISION NOT NULL DEFAULT 0,
    take_profits TEXT NOT NULL DEFAULT '[]',
    breakeven_at_r DOUBLE PRECISION CHECK (breakeven_at_r IS NULL OR breakeven_at_r > 0),
    trailing_stop_pct DOUBLE PRECISION
        CHECK (trailing_stop_pct IS NULL OR (trailing_stop_pct > 0 AND trailing_stop_pct < 50)),
    trailing_activate_at_r DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (trailing_activate_at_r >= 0),
    targets_hit INTEGER NOT NULL DEFAULT 0 CHECK (targets_hit >= 0 AND targets_hit <= 5),
    stop_moved_by TEXT
        CHECK (stop_moved_by IS NULL OR stop_moved_by IN ('BREAKEVEN', 'TRAILING', 'MANUAL')),
    -- The fee paid on entry; each exit carries its share of it (`fees` is the entry fee plus
    -- every exit fill's fee).
    entry_fee DOUBLE PRECISION NOT NULL CHECK (entry_fee >= 0),
    -- Levels on the right side of the entry: a SHORT with a LONG's levels can never be stored
    -- (the original lost the side and closed every SELL at once, ORIGINAL.md §5.1). The stop in
    -- force only ever moves from the initial stop towards the target.
    CHECK ((direction = 'LONG' AND initial_stop_loss < entry_price AND entry_price < take_profit
            AND initial_stop_loss <= stop_loss AND stop_loss < take_profit)
        OR (direction = 'SHORT' AND take_profit < entry_price AND entry_price < initial_stop_loss
            AND take_profit < stop_loss AND stop_loss <= initial_stop_loss)),
    -- A closed trade carries its whole exit; an open one carries none of it.
    CHECK ((status = 'CLOSED') = (exit_price IS NOT NULL AND exit_reason IS NOT NULL
        AND pnl IS NOT NULL AND closed_at IS NOT NULL)),
    -- An open trade holds part of its quantity, a closed one none.
    CHECK (remaining_quantity <= quantity),
    CHECK (status <> 'ACTIVE' OR remaining_quantity > 0),
    CHECK (status <> 'CLOSED' OR remaining_quantity = 0)
);

INSERT INTO signals_new
SELECT id, symbol, direction, status, entry_price, stop_loss, take_profit, quantity, risk_amount,
    confidence, strategy, timeframe, external_id, reasons, notes, current_price, unrealized_pnl,
    max_favorable_price, max_adverse_price, exit_price, exit_reason, pnl, fees, created_at,
    closed_at, updated_at,
    stop_loss,
    CASE WHEN status = 'CLOSED' THEN 0 ELSE quantity END,
    CASE WHEN status = 'CLOSED' THEN pnl ELSE 0 END,
    '[]', NULL, NULL, 0, 0, NULL,
    -- A closed trade paid the same fee rate on both fills.
    CASE WHEN status = 'CLOSED' THEN fees * entry_price / (entry_price + exit_price) ELSE fees END
FROM signals;

CREATE TABLE journal_entries_new (
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
        ('PARTIAL_TAKE_PROFIT', 'TAKE_PROFIT', 'STOP_LOSS', 'BREAKEVEN_STOP', 'TRAILING_STOP',
         'MANUAL', 'END_OF_DAY', 'MAX_DURATION')),
    opened_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP NOT NULL,
    duration_secs BIGINT NOT NULL CHECK (duration_secs >= 0),
    balance_after REAL NOT NULL,
    notes TEXT,
    tags TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    -- How many exits the trade took (DESIGN.md §10): its `trade_exits` rows.
    exit_count INTEGER NOT NULL DEFAULT 1 CHECK (exit_count >= 1)
);

INSERT INTO journal_entries_new
SELECT id, signal_id, symbol, direction, entry_price, exit_price, quantity, pnl, pnl_pct,
    r_multiple, outcome, exit_reason, opened_at, closed_at, duration_secs, balance_after, notes,
    tags, created_at, updated_at, 1
FROM journal_entries;

DROP TABLE journal_entries;
DROP TABLE signals;
ALTER TABLE signals_new RENAME TO signals;
ALTER TABLE journal_entries_new RENAME TO journal_entries;

CREATE UNIQUE INDEX signals_external_id_key ON signals (external_id) WHERE external_id IS NOT NULL;
CREATE INDEX signals_status_idx ON signals (status);
CREATE INDEX signals_created_at_idx ON signals (created_at);
CREATE INDEX signals_closed_at_idx ON signals (closed_at);
CREATE INDEX signals_symbol_status_idx ON signals (symbol, status);
CREATE INDEX signals_active_idx ON signals (symbol, id) WHERE status = 'ACTIVE';
CREATE INDEX signals_symbol_closed_at_idx ON signals (symbol, closed_at);
CREATE INDEX journal_entries_closed_at_idx ON journal_entries (closed_at);
CREATE INDEX journal_entries_symbol_closed_at_idx ON journal_entries (symbol, closed_at);

-- Every exit of a trade, partial or final. `fee` is the exit fill's fee plus the entry fee's
-- share of this exit's quantity, and `pnl` = price move × quantity − fee: each exit's pnl is
-- final when it is booked, and a trade's exits sum to its pnl and its fees.
CREATE TABLE trade_exits (
    id INTEGER PRIMARY KEY NOT NULL,
    signal_id INTEGER NOT NULL REFERENCES signals (id),
    reason TEXT NOT NULL CHECK (reason IN
        ('PARTIAL_TAKE_PROFIT', 'TAKE_PROFIT', 'STOP_LOSS', 'BREAKEVEN_STOP', 'TRAILING_STOP',
         'MANUAL', 'END_OF_DAY', 'MAX_DURATION')),
    price DOUBLE PRECISION NOT NULL CHECK (price > 0),
    quantity DOUBLE PRECISION NOT NULL CHECK (quantity > 0),
    fee DOUBLE PRECISION NOT NULL CHECK (fee >= 0),
    pnl DOUBLE PRECISION NOT NULL,
    balance_after DOUBLE PRECISION NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE INDEX trade_exits_signal_idx ON trade_exits (signal_id, id);
CREATE INDEX trade_exits_created_at_idx ON trade_exits (created_at);

-- Every change of a trade's stop in force: by breakeven, by the trailing stop, or by hand.
CREATE TABLE stop_moves (
    id INTEGER PRIMARY KEY NOT NULL,
    signal_id INTEGER NOT NULL REFERENCES signals (id),
    old_stop DOUBLE PRECISION NOT NULL CHECK (old_stop > 0),
    new_stop DOUBLE PRECISION NOT NULL CHECK (new_stop > 0),
    reason TEXT NOT NULL CHECK (reason IN ('BREAKEVEN', 'TRAILING', 'MANUAL')),
    created_at TIMESTAMP NOT NULL
);

CREATE INDEX stop_moves_signal_idx ON stop_moves (signal_id, id);

INSERT INTO trade_exits (signal_id, reason, price, quantity, fee, pnl, balance_after, created_at)
SELECT s.id, s.exit_reason, s.exit_price, s.quantity, s.fees, s.pnl, j.balance_after, s.closed_at
FROM signals s JOIN journal_entries j ON j.signal_id = s.id
WHERE s.status = 'CLOSED'
ORDER BY j.id;

COMMIT;
PRAGMA foreign_keys = ON;
