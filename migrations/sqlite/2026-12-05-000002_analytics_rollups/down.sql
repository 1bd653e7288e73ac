DROP INDEX journal_entries_r_multiple;
DROP TABLE derived_tables;
DROP TABLE analytics_rollups;
