DROP INDEX signals_active_idx;
