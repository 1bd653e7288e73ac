-- The cooldown gate asks when a symbol's last trade closed. With (symbol, closed_at) that is one
-- index probe, not a walk over every trade the symbol ever closed.
CREATE INDEX signals_symbol_closed_at_idx ON signals (symbol, closed_at);
