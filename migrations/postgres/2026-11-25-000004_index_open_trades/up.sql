-- Open trades are a handful among a history that grows without bound. With planner statistics
-- (after ANALYZE) the (status) index looks like "half the table" and SQLite scans instead; this
-- partial index holds only the open trades, so every "status = 'ACTIVE'" query stays small.
CREATE INDEX signals_active_idx ON signals (symbol, id) WHERE status = 'ACTIVE';
