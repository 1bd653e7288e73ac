DROP INDEX sessions_expires_at;
DROP TABLE sessions;
DROP TABLE secrets;
