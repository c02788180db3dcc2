-- A tenant's own email provider settings (PUT /v1/email/settings); a
-- tenant without a row sends through the instance's provider, which comes
-- from the configuration and is never stored here. The one secret of the
-- provider (the SMTP password, the Resend API key, the Postmark server
-- token) is sealed with JOIST_SECRET_KEY; secret_hint is what the API shows
-- of it. base is the SMTP URL without its password, or the API base URL.
-- version changes on every write: each node rebuilds its cached provider
-- of the tenant when the version it sees differs.
CREATE TABLE email_settings (
    tenant_id     TEXT PRIMARY KEY REFERENCES tenants(id),
    provider      TEXT NOT NULL,
    base          TEXT NOT NULL DEFAULT '',
    secret_sealed TEXT NOT NULL DEFAULT '',
    secret_hint   TEXT NOT NULL DEFAULT '',
    rate          INTEGER NOT NULL DEFAULT 0,
    version       TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
