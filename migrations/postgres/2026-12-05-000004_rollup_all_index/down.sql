DROP INDEX analytics_rollups_all;
