-- Back to one exit per trade and a fixed stop; lossy as SQLite's down migration of this version.
DROP TABLE stop_moves;
DROP TABLE trade_exits;

UPDATE journal_entries SET exit_reason = CASE exit_reason
    WHEN 'PARTIAL_TAKE_PROFIT' THEN 'TAKE_PROFIT' WHEN 'BREAKEVEN_STOP' THEN 'STOP_LOSS'
    WHEN 'TRAILING_STOP' THEN 'STOP_LOSS' ELSE exit_reason END;
ALTER TABLE journal_entries
    DROP COLUMN exit_count,
    DROP CONSTRAINT journal_entries_exit_reason_check,
    ADD CONSTRAINT journal_entries_exit_reason_check CHECK (exit_reason IN
        ('TAKE_PROFIT', 'STOP_LOSS', 'MANUAL', 'END_OF_DAY', 'MAX_DURATION'));

ALTER TABLE signals
    DROP CONSTRAINT signals_levels_check,
    DROP CONSTRAINT signals_exit_reason_check;
UPDATE signals SET stop_loss = initial_stop_loss, exit_reason = CASE exit_reason
    WHEN 'PARTIAL_TAKE_PROFIT' THEN 'TAKE_PROFIT' WHEN 'BREAKEVEN_STOP' THEN 'STOP_LOSS'
    WHEN 'TRAILING_STOP' THEN 'STOP_LOSS' ELSE exit_reason END;
ALTER TABLE signals
    DROP COLUMN initial_stop_loss,
    DROP COLUMN remaining_quantity,
    DROP COLUMN realized_pnl,
    DROP COLUMN take_profits,
    DROP COLUMN breakeven_at_r,
    DROP COLUMN trailing_stop_pct,
    DROP COLUMN trailing_activate_at_r,
    DROP COLUMN targets_hit,
    DROP COLUMN stop_moved_by,
    DROP COLUMN entry_fee,
    ADD CONSTRAINT signals_check CHECK (
        (direction = 'LONG' AND stop_loss < entry_price AND entry_price < take_profit)
        OR (direction = 'SHORT' AND take_profit < entry_price AND entry_price < stop_loss)),
    ADD CONSTRAINT signals_exit_reason_check CHECK (exit_reason IS NULL OR exit_reason IN
        ('TAKE_PROFIT', 'STOP_LOSS', 'MANUAL', 'END_OF_DAY', 'MAX_DURATION'));
