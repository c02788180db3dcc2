-- Each tenant's VAPID key pair (RFC 8292), made on first use: the public
-- key (base64url, the applicationServerKey browsers subscribe with) and
-- the private key sealed with JOIST_SECRET_KEY.
CREATE TABLE push_vapid_keys (
    tenant_id   TEXT PRIMARY KEY REFERENCES tenants(id),
    public_key  TEXT NOT NULL,
    private_key TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- Browsers' web push subscriptions (ids psub_...), one per endpoint in a
-- tenant: a browser that subscribes again, for this contact or another
-- (someone else signed in), replaces the row. p256dh and auth are the
-- subscription's keys (base64url). Deleted when the push service answers
-- 404 or 410, or the contact unsubscribes.
CREATE TABLE push_subscriptions (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    contact_id      TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    endpoint        TEXT NOT NULL,
    p256dh          TEXT NOT NULL,
    auth            TEXT NOT NULL,
    expiration_time TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (tenant_id, endpoint)
);
CREATE INDEX push_subscriptions_contact ON push_subscriptions (tenant_id, contact_id);

-- Phones' registration tokens (ids pdev_...): platform fcm or apns, one
-- row per (tenant, platform, token), moved to whichever contact
-- registered it last. Deleted when FCM or APNs says the token is no
-- longer valid, or the app removes it.
CREATE TABLE push_devices (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    platform   TEXT NOT NULL,
    token      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (tenant_id, platform, token)
);
CREATE INDEX push_devices_contact ON push_devices (tenant_id, contact_id);
