-- Digests (ids ndg_...): the email and push deliveries of a digest type's
-- events for one contact and rendered key, gathered over the type's window
-- into one delivery per channel. status is open (events join it until
-- window_end), closed (its window passed before its job ran: no event
-- joins it any more) or sent (its job planned its deliveries). At most
-- one digest per (tenant, contact, type, key) is open: concurrent fan-outs
-- on any node find or create the same row. count is how many
-- notifications joined it; correlation_id is its first event's.
CREATE TABLE notification_digests (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    contact_id     TEXT NOT NULL,
    type           TEXT NOT NULL,
    digest_key     TEXT NOT NULL,
    status         TEXT NOT NULL,
    count          INTEGER NOT NULL DEFAULT 0,
    window_start   TIMESTAMPTZ NOT NULL,
    window_end     TIMESTAMPTZ NOT NULL,
    job_id         TEXT NOT NULL DEFAULT '',
    correlation_id TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    sent_at        TIMESTAMPTZ
);
CREATE UNIQUE INDEX notification_digests_open ON notification_digests (tenant_id, contact_id, type, digest_key) WHERE status = 'open';
CREATE INDEX notification_digests_contact ON notification_digests (tenant_id, contact_id, id DESC);
CREATE INDEX notifications_digest ON notifications (digest_id) WHERE digest_id <> '';

-- A digest's own deliveries (ids ndl_..., one per channel), made when its
-- window closes: queued, then sent or failed as a notification's are, or
-- skipped with a reason. The notifications it gathers record their
-- email and push deliveries as skipped, reason digested, target the digest.
CREATE TABLE notification_digest_deliveries (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    digest_id  TEXT NOT NULL REFERENCES notification_digests(id) ON DELETE CASCADE,
    contact_id TEXT NOT NULL,
    channel    TEXT NOT NULL,
    status     TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT '',
    target     TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (digest_id, channel)
);
