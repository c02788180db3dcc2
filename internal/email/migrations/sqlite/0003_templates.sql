-- Email templates and layouts, owned by a tenant or by the instance (the
-- instance's own tenant): a tenant renders its own template or layout of a
-- name, else the instance's. variants holds the template's variants as
-- saved (locale -> subject, preheader, html, text); every part was parsed
-- before it was stored.
CREATE TABLE email_templates (
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    name           TEXT NOT NULL,
    default_locale TEXT NOT NULL,
    layout         TEXT NOT NULL DEFAULT '',
    variants       TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE email_layouts (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    name       TEXT NOT NULL,
    html       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

-- A template send keeps the template's name and the locale rendered beside
-- the rendered subject and bodies (empty for sends with their own content).
ALTER TABLE emails ADD COLUMN template TEXT NOT NULL DEFAULT '';
ALTER TABLE emails ADD COLUMN locale TEXT NOT NULL DEFAULT '';
CREATE INDEX emails_tenant_template ON emails (tenant_id, template, id DESC);
