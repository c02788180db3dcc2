-- Inbound webhooks: sources (per tenant), the events they received (deduplicated
-- by the provider's event id), and a bounded log of rejected requests.
CREATE TABLE webhook_sources (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    name          TEXT NOT NULL,
    provider      TEXT NOT NULL,
    config        TEXT NOT NULL,
    forward_url   TEXT NOT NULL DEFAULT '',
    forward_types TEXT NOT NULL DEFAULT '[]',
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE webhook_events (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants(id),
    source_id         TEXT NOT NULL REFERENCES webhook_sources(id) ON DELETE CASCADE,
    provider_event_id TEXT NOT NULL,
    event_type        TEXT NOT NULL DEFAULT '',
    content_type      TEXT NOT NULL DEFAULT '',
    headers           TEXT NOT NULL DEFAULT '{}',
    body              BLOB NOT NULL,
    verification      TEXT NOT NULL DEFAULT '',
    forward_job_id    TEXT NOT NULL DEFAULT '',
    correlation_id    TEXT NOT NULL DEFAULT '',
    received_at       TEXT NOT NULL,
    UNIQUE (source_id, provider_event_id)
);
CREATE INDEX webhook_events_tenant ON webhook_events (tenant_id, id);

CREATE TABLE webhook_rejections (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    source_id   TEXT NOT NULL REFERENCES webhook_sources(id) ON DELETE CASCADE,
    code        TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '',
    headers     TEXT NOT NULL DEFAULT '{}',
    size        INTEGER NOT NULL DEFAULT 0,
    remote_ip   TEXT NOT NULL DEFAULT '',
    received_at TEXT NOT NULL
);
CREATE INDEX webhook_rejections_source ON webhook_rejections (source_id, id);
