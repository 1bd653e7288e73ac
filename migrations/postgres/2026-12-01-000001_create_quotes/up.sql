-- The latest accepted quote of every symbol (DESIGN.md §9), written by the tick in the same
-- transaction as the trades it priced. New signals and manual closes are priced from it (fresh
-- within SIGNALDESK_STALE_SECS), the price strip shows it, and the glitch guard compares every
-- new poll with it, so the guard's reference survives a restart. `pending_price` is a jump the
-- guard refused, accepted when the next poll confirms it.
CREATE TABLE quotes (
    symbol TEXT PRIMARY KEY NOT NULL CHECK (symbol <> '' AND symbol = upper(symbol)),
    price DOUBLE PRECISION NOT NULL CHECK (price > 0),
    high_24h DOUBLE PRECISION,
    low_24h DOUBLE PRECISION,
    change_24h_pct DOUBLE PRECISION,
    volume_24h DOUBLE PRECISION,
    price_time TIMESTAMP NOT NULL,
    market_time TIMESTAMP NOT NULL,
    pending_price DOUBLE PRECISION CHECK (pending_price IS NULL OR pending_price > 0),
    pending_time TIMESTAMP,
    updated_at TIMESTAMP NOT NULL,
    CHECK ((pending_price IS NULL) = (pending_time IS NULL))
);

-- A database from before this table: the last price each symbol's trades were priced at is the
-- guard's first reference.
INSERT INTO quotes (symbol, price, price_time, market_time, updated_at)
SELECT s.symbol, s.current_price, s.updated_at, s.updated_at, s.updated_at
FROM signals s
WHERE s.id = (
    SELECT latest.id FROM signals latest
    WHERE latest.symbol = s.symbol
    ORDER BY latest.updated_at DESC, latest.id DESC
    LIMIT 1
);
