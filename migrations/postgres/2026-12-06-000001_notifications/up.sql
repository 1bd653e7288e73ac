-- The notification outbox (DESIGN.md §12): one row per target and event, written in the
-- transaction of the change it announces; the leader's sender delivers PENDING rows in id order,
-- retrying with backoff until SENT, or FAILED after SIGNALDESK_NOTIFY_MAX_ATTEMPTS. `target` is
-- the target's masked name (no secret is stored); `dedupe_key` names the event (e.g.
-- trade_closed:42), so a retried transaction or a second instance cannot queue it twice.
CREATE TABLE notifications (
    id SERIAL PRIMARY KEY,
    target TEXT NOT NULL CHECK (target <> ''),
    event TEXT NOT NULL CHECK (event <> ''),
    dedupe_key TEXT NOT NULL CHECK (dedupe_key <> ''),
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SENT', 'FAILED')),
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TIMESTAMP NOT NULL,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    UNIQUE (target, dedupe_key),
    CHECK ((status = 'SENT') = (sent_at IS NOT NULL))
);
-- The sender's queue: the pending rows due first, in order.
CREATE INDEX notifications_pending_idx ON notifications (next_attempt_at, id) WHERE status = 'PENDING';
