-- The candles the tick read for symbols with open trades (DESIGN.md §11): the 1-minute klines
-- it already fetches for each trade's high and low, stored in the same pass, so the trade page
-- draws the market the trade lived through. Candles within a trade's span (an hour either side)
-- are kept; others are pruned after SIGNALDESK_CANDLE_RETENTION_DAYS. The checks are those of
-- `domain::market::Candle::new`: prices within 1e-12..=1e12, the open and close inside the
-- high/low, a finite volume that is not negative. Prices and volumes are written as DOUBLE
-- PRECISION so `diesel print-schema` maps them to f64 without a patch.
CREATE TABLE candles (
    symbol TEXT NOT NULL CHECK (symbol <> '' AND symbol = upper(symbol)),
    timeframe TEXT NOT NULL CHECK (timeframe IN ('1m', '5m', '15m', '1h', '4h', '1d')),
    open_time TIMESTAMP NOT NULL,
    open DOUBLE PRECISION NOT NULL,
    high DOUBLE PRECISION NOT NULL,
    low DOUBLE PRECISION NOT NULL,
    close DOUBLE PRECISION NOT NULL,
    volume DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (symbol, timeframe, open_time),
    CHECK (low >= 1e-12 AND high <= 1e12),
    CHECK (low <= open AND low <= close AND open <= high AND close <= high),
    CHECK (volume >= 0 AND volume <= 1.7976931348623157e308)
) WITHOUT ROWID;
