-- Rollups by day and by calendar month (DESIGN.md §11): a range reads its whole months from the
-- month rows and only the days at its ends from the day rows, so a year reads about 12 + 31 rows
-- per bucket however many trades it holds. Keyed dimension first, so a query reads only the
-- dimensions it needs. r_min and r_max are the lowest and highest R of the bucket's trades: the
-- exact median R reads the trades of one fine R bin (dimension r_fine, 1/32 R wide) only when
-- its trades do not all share one R. Month rows carry the additive sums and r_min/r_max; their
-- streak fields are 0 (streaks are read from the day rows). Derived data: rebuilt from the raw
-- rows at once (the embedded run) or at the next start (`diesel migration run`).
DROP INDEX analytics_rollups_all;
DROP TABLE analytics_rollups;
CREATE TABLE analytics_rollups (
    span TEXT NOT NULL,
    dimension TEXT NOT NULL,
    date DATE NOT NULL,
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
    r_min DOUBLE PRECISION NOT NULL,
    r_max DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (span, dimension, date, bucket)
) ;
UPDATE derived_tables SET rebuilt_at = NULL WHERE name = 'analytics_rollups';
