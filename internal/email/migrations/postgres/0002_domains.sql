-- Sending domains and their DKIM keys. A domain has one owner (a tenant,
-- or the instance's tenant): its name is unique across owners. Keys are
-- generated when joist signs (provider smtp); the private key is sealed
-- with JOIST_SECRET_KEY. A key is pending (published beside the active
-- one, not signing yet), active (signs) or retired (signed before a
-- rotation; no longer used).
CREATE TABLE email_domains (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL UNIQUE,
    provider    TEXT NOT NULL,
    spf_include TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX email_domains_tenant ON email_domains (tenant_id, name);

CREATE TABLE email_dkim_keys (
    id           TEXT PRIMARY KEY,
    domain_id    TEXT NOT NULL REFERENCES email_domains(id) ON DELETE CASCADE,
    tenant_id    TEXT NOT NULL,
    selector     TEXT NOT NULL,
    algorithm    TEXT NOT NULL,
    public_key   TEXT NOT NULL,
    private_key  TEXT NOT NULL,
    status       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    activated_at TIMESTAMPTZ,
    retired_at   TIMESTAMPTZ,
    UNIQUE (domain_id, selector)
);
CREATE INDEX email_dkim_keys_domain ON email_dkim_keys (domain_id, status);
