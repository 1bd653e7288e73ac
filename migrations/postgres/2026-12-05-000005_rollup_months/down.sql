DROP TABLE analytics_rollups;
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
);
CREATE INDEX analytics_rollups_all ON analytics_rollups (date) WHERE dimension = 'all';
UPDATE derived_tables SET rebuilt_at = NULL WHERE name = 'analytics_rollups';
