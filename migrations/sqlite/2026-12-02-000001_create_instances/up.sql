-- Several instances on one database (DESIGN.md §9).
--
-- `leases`: leadership. The holder of the 'leader' lease alone runs update_paper_trades and the
-- scanner; it renews the lease every tick, and every write it makes as leader checks, in its own
-- transaction, that it still holds the lease at the same epoch (fencing). Another instance takes
-- the lease once it has expired, with the next epoch. Times are the database's clock.
CREATE TABLE leases (
    name TEXT PRIMARY KEY NOT NULL CHECK (name <> ''),
    holder TEXT NOT NULL CHECK (holder <> ''),
    epoch BIGINT NOT NULL CHECK (epoch > 0),
    acquired_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL CHECK (expires_at >= acquired_at)
);

-- `instances`: one row per running instance, its heartbeat, and the engine's status as the
-- instance that ticks last saw it (the last tick, the feed, the trades it could not book, the
-- last scan), so every instance's /api/health, /api/stats and dashboard show the same. The lists
-- are JSON arrays. A clean stop deletes its row; the leader deletes rows whose heartbeat is old.
CREATE TABLE instances (
    id TEXT PRIMARY KEY NOT NULL CHECK (id <> ''),
    hostname TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at TIMESTAMP NOT NULL,
    heartbeat_at TIMESTAMP NOT NULL,
    is_leader BOOLEAN NOT NULL DEFAULT 0,
    last_tick_at TIMESTAMP,
    last_tick_ms DOUBLE PRECISION,
    last_ok_at TIMESTAMP,
    tick_error TEXT,
    ticks BIGINT NOT NULL DEFAULT 0 CHECK (ticks >= 0),
    failed_ticks BIGINT NOT NULL DEFAULT 0 CHECK (failed_ticks >= 0 AND failed_ticks <= ticks),
    feed_source TEXT NOT NULL,
    feed_status TEXT NOT NULL CHECK (feed_status IN ('ok', 'degraded', 'down')),
    feed_error TEXT,
    feed_updated_at TIMESTAMP,
    booking_failures TEXT NOT NULL DEFAULT '[]',
    booking_failures_total BIGINT NOT NULL DEFAULT 0 CHECK (booking_failures_total >= 0),
    scanned_at TIMESTAMP,
    scans BIGINT NOT NULL DEFAULT 0 CHECK (scans >= 0),
    failed_scans BIGINT NOT NULL DEFAULT 0 CHECK (failed_scans >= 0 AND failed_scans <= scans),
    scan_error TEXT,
    scan_results TEXT NOT NULL DEFAULT '[]'
);

-- `events`: what happened, for /api/events on every instance: each instance polls for ids above
-- the last it saw. Written in the transaction of what it announces (a signal opened, a trade
-- closed) or right after a tick; writers run one at a time, so ids commit in order. Events carry
-- only ids: the payload is read from the database when sent. The leader deletes old ones.
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('tick', 'signal_opened', 'trade_closed')),
    signal_id INTEGER,
    created_at TIMESTAMP NOT NULL,
    CHECK ((kind = 'tick') = (signal_id IS NULL))
);

CREATE INDEX events_created_at ON events (created_at);
