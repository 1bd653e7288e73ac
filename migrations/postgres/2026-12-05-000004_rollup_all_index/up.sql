-- The `all` rollup of each day, read by date: the analytics' daily equity and the closed-trade
-- equity before a range (DESIGN.md §11) read one row per day instead of every bucket's.
CREATE INDEX analytics_rollups_all ON analytics_rollups (date) WHERE dimension = 'all';
