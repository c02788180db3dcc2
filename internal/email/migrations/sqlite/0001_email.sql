-- Transactional email: every accepted email (its message as given, its
-- status and what the provider answered), its recipients and tags (for the
-- log's filters) and its events (queued, sent, captured, deferred, failed).
-- An email and its email_send job are committed in one transaction.
CREATE TABLE emails (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    contact_id      TEXT NOT NULL DEFAULT '',
    from_addr       TEXT NOT NULL,
    to_addrs        TEXT NOT NULL,
    cc_addrs        TEXT NOT NULL,
    bcc_addrs       TEXT NOT NULL,
    reply_to        TEXT NOT NULL,
    subject         TEXT NOT NULL,
    html            TEXT NOT NULL DEFAULT '',
    text_body       TEXT NOT NULL DEFAULT '',
    headers         TEXT NOT NULL,
    attachments     TEXT NOT NULL,
    tags            TEXT NOT NULL,
    metadata        TEXT NOT NULL,
    category        TEXT NOT NULL,
    status          TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    provider        TEXT NOT NULL DEFAULT '',
    provider_id     TEXT NOT NULL DEFAULT '',
    error           TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT NOT NULL DEFAULT '',
    job_id          TEXT NOT NULL DEFAULT '',
    correlation_id  TEXT NOT NULL DEFAULT '',
    send_at         TEXT,
    sent_at         TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX emails_tenant_created ON emails (tenant_id, id DESC);
CREATE INDEX emails_tenant_contact ON emails (tenant_id, contact_id, id DESC);
CREATE INDEX emails_tenant_status ON emails (tenant_id, status, id DESC);
-- An Idempotency-Key is kept as long as the email: a retry after a crash
-- between commit and answer finds the email instead of sending twice.
CREATE UNIQUE INDEX emails_idempotency ON emails (tenant_id, idempotency_key) WHERE idempotency_key <> '';

-- Every address an email goes to (to, cc, bcc), lower-cased, for ?to=.
CREATE TABLE email_recipients (
    email_id  TEXT NOT NULL REFERENCES emails(id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL,
    kind      TEXT NOT NULL,
    address   TEXT NOT NULL,
    PRIMARY KEY (email_id, kind, address)
);
CREATE INDEX email_recipients_address ON email_recipients (tenant_id, address);

CREATE TABLE email_tags (
    email_id  TEXT NOT NULL REFERENCES emails(id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL,
    tag       TEXT NOT NULL,
    PRIMARY KEY (email_id, tag)
);
CREATE INDEX email_tags_tag ON email_tags (tenant_id, tag);

CREATE TABLE email_events (
    id         TEXT PRIMARY KEY,
    email_id   TEXT NOT NULL REFERENCES emails(id) ON DELETE CASCADE,
    tenant_id  TEXT NOT NULL,
    type       TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX email_events_email ON email_events (email_id, created_at);
