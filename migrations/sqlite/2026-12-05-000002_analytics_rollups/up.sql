-- Rollups of the closed trades per UTC day (of the close), dimension and bucket (DESIGN.md §11):
-- derived data, kept in the closing transaction and rebuilt from the raw rows by
-- `signaldesk rebuild`. Streak fields are the leading, trailing and longest runs of WIN and of
-- LOSS trades of that day and bucket, in the order the trades were booked (journal id).
CREATE TABLE analytics_rollups (
    date DATE NOT NULL,
    dimension TEXT NOT NULL,
    bucket TEXT NOT NULL,
    trades BIGINT NOT NULL,
    wins BIGINT NOT NULL,
    losses BIGINT NOT NULL,
    pnl DOUBLE PRECISION NOT NULL,
    win_pnl DOUBLE PRECISION NOT NULL,
    loss_pnl DOUBLE PRECISION NOT NULL,
    r_sum DOUBLE PRECISION NOT NULL,
    hold_secs BIGINT NOT NULL,
    win_first BIGINT NOT NULL,
    win_last BIGINT NOT NULL,
    win_max BIGINT NOT NULL,
    loss_first BIGINT NOT NULL,
    loss_last BIGINT NOT NULL,
    loss_max BIGINT NOT NULL,
    PRIMARY KEY (date, dimension, bucket)
) WITHOUT ROWID;

-- Derived tables and when they were last rebuilt from the raw rows; NULL: they must be rebuilt
-- before they are read (the embedded migration run does it at once, in one transaction).
CREATE TABLE derived_tables (
    name TEXT PRIMARY KEY NOT NULL,
    rebuilt_at TIMESTAMP
);
INSERT INTO derived_tables (name, rebuilt_at) VALUES ('analytics_rollups', NULL);

-- The exact median R of a range reads the trades of one 0.5 R bin in R order.
CREATE INDEX journal_entries_r_multiple ON journal_entries (r_multiple, closed_at);
