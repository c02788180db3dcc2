-- Suppressed addresses, per tenant and category (transactional,
-- marketing): a send to one is recorded as suppressed and not attempted.
-- A hard bounce suppresses both categories (two rows), a complaint the
-- category of the email complained about. source is bounce, complaint,
-- api or unsubscribe; expires_at (optional) ends the suppression.
CREATE TABLE email_suppressions (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    address    TEXT NOT NULL,
    category   TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    source     TEXT NOT NULL,
    email_id   TEXT NOT NULL DEFAULT '',
    expires_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, address, category)
);

-- Delivery events name the email by the provider's id of the message.
CREATE INDEX emails_provider_id ON emails (provider_id) WHERE provider_id <> '';
