-- Browser sessions (DESIGN.md §13). `secrets` holds the server's random keys, created once on
-- first start: two processes starting at once on one database both insert with ON CONFLICT DO
-- NOTHING, then read, and so share one key. `sessions` holds one row per login, so that logout can end one session
-- server-side; a session's token_fingerprint is a MAC of the API token it was opened with, so a
-- changed token ends it too.
CREATE TABLE secrets (
    name TEXT PRIMARY KEY NOT NULL,
    value BYTEA NOT NULL CHECK (length(value) >= 32),
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 64),
    token_fingerprint TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL CHECK (expires_at > created_at)
);

-- Pruning expired sessions reads only them.
CREATE INDEX sessions_expires_at ON sessions (expires_at);
