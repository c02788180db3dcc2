-- Jobs: joist's record of each job (tenant, what it does, how it ended),
-- beside River's river_job row that drives its execution.
CREATE TABLE jobs (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    river_id       BIGINT NOT NULL UNIQUE,
    kind           TEXT NOT NULL,
    queue          TEXT NOT NULL,
    url            TEXT NOT NULL DEFAULT '',
    method         TEXT NOT NULL DEFAULT '',
    unique_key     TEXT NOT NULL DEFAULT '',
    schedule       TEXT NOT NULL DEFAULT '',
    correlation_id TEXT NOT NULL DEFAULT '',
    dead_reason    TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX jobs_tenant ON jobs (tenant_id, id);

CREATE TABLE job_attempts (
    job_id        TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    attempt       INTEGER NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL,
    duration_ms   BIGINT NOT NULL,
    status        INTEGER NOT NULL DEFAULT 0,
    response_body TEXT NOT NULL DEFAULT '',
    error         TEXT NOT NULL DEFAULT '',
    node          TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (job_id, attempt, started_at)
);

-- Standard Webhooks signing secrets per tenant ('' = the instance's), encrypted
-- with JOIST_SECRET_KEY. During a rotation the old secret lives until expires_at.
CREATE TABLE signing_secrets (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    secret_enc TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ
);
CREATE INDEX signing_secrets_tenant ON signing_secrets (tenant_id, id);
