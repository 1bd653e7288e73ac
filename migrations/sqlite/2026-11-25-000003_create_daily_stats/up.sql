-- One row per UTC day. A new day starts from the previous day's closing balance; the latest
-- row's paper_balance is the account's current balance.
CREATE TABLE daily_stats (
    id INTEGER PRIMARY KEY NOT NULL,
    date DATE NOT NULL UNIQUE,
    scan_count INTEGER NOT NULL DEFAULT 0 CHECK (scan_count >= 0),
    signals_generated INTEGER NOT NULL DEFAULT 0 CHECK (signals_generated >= 0),
    trades_closed INTEGER NOT NULL DEFAULT 0 CHECK (trades_closed >= 0),
    wins INTEGER NOT NULL DEFAULT 0 CHECK (wins >= 0),
    losses INTEGER NOT NULL DEFAULT 0 CHECK (losses >= 0),
    starting_balance REAL NOT NULL,
    paper_balance REAL NOT NULL,
    realized_pnl REAL NOT NULL DEFAULT 0,
    total_pnl REAL NOT NULL DEFAULT 0,
    updated_at TIMESTAMP NOT NULL
);
