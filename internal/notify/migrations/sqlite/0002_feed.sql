-- The feed's secrets (ids fks_..., the "kid" of contact tokens): HS256
-- keys per tenant, sealed with JOIST_SECRET_KEY. The kid is unique across
-- the instance, so a token names its tenant through it. expires_at is
-- NULL for the current secret; a rotation sets it on the previous ones
-- (the grace period during which both verify).
CREATE TABLE feed_secrets (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    secret_enc TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT
);
CREATE INDEX feed_secrets_tenant ON feed_secrets (tenant_id, id DESC);

-- A tenant's notification settings (PUT /v1/notification-settings): the
-- VAPID subject of its web push, and (in notification_origins) the
-- browser origins allowed to call the feed (CORS).
CREATE TABLE notification_settings (
    tenant_id     TEXT PRIMARY KEY REFERENCES tenants(id),
    vapid_subject TEXT NOT NULL DEFAULT '',
    updated_at    TEXT NOT NULL
);
CREATE TABLE notification_origins (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    origin    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, origin)
);
-- A preflight (no token yet) asks whether any tenant allows an origin.
CREATE INDEX notification_origins_origin ON notification_origins (origin);
