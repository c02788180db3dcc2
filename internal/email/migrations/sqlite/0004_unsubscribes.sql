-- One-click unsubscribes (RFC 8058): an address of a tenant that asked,
-- through the link in List-Unsubscribe, to get no more mail of a scope
-- (the category "marketing"). Sending skips marketing mail to it.
CREATE TABLE email_unsubscribes (
    tenant_id  TEXT NOT NULL,
    address    TEXT NOT NULL,
    scope      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, address, scope)
);
