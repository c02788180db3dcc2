-- Notification types, owned by a tenant or by the instance (the
-- instance's own tenant); a tenant's own type of a name wins. channels
-- holds each channel's content as saved (in_app: title, body, url; email:
-- template; push: title, body), defaults each channel's default (bool);
-- every template in them was parsed before it was stored. A critical type
-- ignores opt-outs; grp gathers types for preferences; digest_window (a Go
-- duration, '' for none) and digest_key (a template) make it a digest type.
CREATE TABLE notification_types (
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    name          TEXT NOT NULL,
    channels      JSONB NOT NULL,
    defaults      JSONB NOT NULL,
    critical      BOOLEAN NOT NULL DEFAULT FALSE,
    grp           TEXT NOT NULL DEFAULT '',
    digest_window TEXT NOT NULL DEFAULT '',
    digest_key    TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

-- Events posted with POST /v1/events (ids nev_...): stored with their
-- fan-out job in one transaction. recipients holds them as given until
-- the job has created their notifications; fanned_out counts the
-- recipients already handled (the job resumes there after a crash);
-- status is pending, fanning_out or done.
CREATE TABLE notify_events (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    type            TEXT NOT NULL,
    data            JSONB NOT NULL,
    actor           TEXT NOT NULL,
    recipients      JSONB NOT NULL,
    recipient_count INTEGER NOT NULL,
    fanned_out      INTEGER NOT NULL DEFAULT 0,
    notified        INTEGER NOT NULL DEFAULT 0,
    skipped         INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL,
    idempotency_key TEXT NOT NULL DEFAULT '',
    job_id          TEXT NOT NULL DEFAULT '',
    correlation_id  TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    completed_at    TIMESTAMPTZ
);
CREATE INDEX notify_events_tenant ON notify_events (tenant_id, id DESC);
CREATE INDEX notify_events_tenant_type ON notify_events (tenant_id, type, id DESC);
-- An Idempotency-Key is kept as long as the event.
CREATE UNIQUE INDEX notify_events_idempotency ON notify_events (tenant_id, idempotency_key) WHERE idempotency_key <> '';

-- Recipients the fan-out skipped (an unknown contact id, an inline
-- contact it could not store), with the reason: not a reason to refuse
-- the event.
CREATE TABLE notify_event_skips (
    event_id  TEXT NOT NULL REFERENCES notify_events(id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    reason    TEXT NOT NULL,
    PRIMARY KEY (event_id, recipient)
);

-- One notification per (event, recipient), ids ntf_...: its rendered
-- in-app content and its state in the contact's feed. in_feed is false
-- when the in_app channel was skipped (the notification still records the
-- other channels' deliveries). seq is the contact's feed sequence when it
-- was created. digest_id names the digest it was gathered into.
CREATE TABLE notifications (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    event_id       TEXT NOT NULL REFERENCES notify_events(id),
    contact_id     TEXT NOT NULL,
    type           TEXT NOT NULL,
    grp            TEXT NOT NULL DEFAULT '',
    critical       BOOLEAN NOT NULL DEFAULT FALSE,
    title          TEXT NOT NULL DEFAULT '',
    body           TEXT NOT NULL DEFAULT '',
    url            TEXT NOT NULL DEFAULT '',
    data           JSONB NOT NULL,
    in_feed        BOOLEAN NOT NULL,
    seq            BIGINT NOT NULL DEFAULT 0,
    seen_at        TIMESTAMPTZ,
    read_at        TIMESTAMPTZ,
    archived_at    TIMESTAMPTZ,
    digest_id      TEXT NOT NULL DEFAULT '',
    correlation_id TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (event_id, contact_id)
);
CREATE INDEX notifications_feed ON notifications (tenant_id, contact_id, id DESC);
CREATE INDEX notifications_event ON notifications (event_id, id);

-- One delivery per notification and channel (ids ndl_...): queued, sent,
-- delivered, skipped (reason says why: muted, no_address, suppressed,
-- no_subscription, not_configured, digested, ...) or failed (detail).
-- target names what it went to (the email's id, a subscription, a device).
CREATE TABLE notification_deliveries (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    notification_id TEXT NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
    contact_id      TEXT NOT NULL,
    channel         TEXT NOT NULL,
    status          TEXT NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    detail          TEXT NOT NULL DEFAULT '',
    target          TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (notification_id, channel)
);
CREATE INDEX notification_deliveries_status ON notification_deliveries (tenant_id, channel, status);

-- A contact's preference overrides as last PUT ({"channels", "groups",
-- "types"}); the effective value of each type x channel is computed from
-- these and the type's defaults.
CREATE TABLE notify_preferences (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    contact_id TEXT NOT NULL,
    overrides  JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, contact_id)
);

-- Each contact's feed sequence and the log of what changed in its feed
-- (kind notification: a new one; state: seen, read, archived changed),
-- written in the transaction of the change. A stream's event ids are these
-- sequence numbers, monotonic across nodes, so Last-Event-ID resumes from
-- the log on any node.
CREATE TABLE feed_sequences (
    tenant_id  TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, contact_id)
);
CREATE TABLE feed_log (
    tenant_id       TEXT NOT NULL,
    contact_id      TEXT NOT NULL,
    seq             BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, contact_id, seq)
);
