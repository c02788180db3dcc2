-- Stripe billing state (internal/billing): which contact a Stripe customer
-- is, each subscription's state (test-mode rows apart from live ones), and
-- the history of applied changes. state_event_created and
-- payment_event_created hold the Stripe `created` of the event that last set
-- each part, so an older event never overwrites newer state.
CREATE TABLE billing_customers (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    stripe_customer TEXT NOT NULL,
    contact_id      TEXT NOT NULL DEFAULT '',
    link_source     TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, stripe_customer)
);

CREATE TABLE subscriptions (
    id                    TEXT PRIMARY KEY,
    tenant_id             TEXT NOT NULL REFERENCES tenants(id),
    livemode              INTEGER NOT NULL,
    stripe_subscription   TEXT NOT NULL,
    stripe_customer       TEXT NOT NULL DEFAULT '',
    contact_id            TEXT NOT NULL DEFAULT '',
    status                TEXT NOT NULL DEFAULT '',
    price_id              TEXT NOT NULL DEFAULT '',
    product_id            TEXT NOT NULL DEFAULT '',
    plan_nickname         TEXT NOT NULL DEFAULT '',
    quantity              INTEGER NOT NULL DEFAULT 0,
    current_period_end    TEXT,
    cancel_at_period_end  INTEGER NOT NULL DEFAULT 0,
    cancel_at             TEXT,
    trial_end             TEXT,
    canceled_at           TEXT,
    latest_invoice        TEXT NOT NULL DEFAULT '',
    payment_status        TEXT NOT NULL DEFAULT '',
    state_event_id        TEXT NOT NULL DEFAULT '',
    state_event_created   TEXT,
    payment_event_created TEXT,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    UNIQUE (tenant_id, livemode, stripe_subscription)
);
CREATE INDEX subscriptions_tenant ON subscriptions (tenant_id, id);
CREATE INDEX subscriptions_customer ON subscriptions (tenant_id, stripe_customer);

CREATE TABLE subscription_changes (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    subscription_id TEXT NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    event_id        TEXT NOT NULL DEFAULT '',
    stripe_event_id TEXT NOT NULL DEFAULT '',
    event_type      TEXT NOT NULL DEFAULT '',
    event_created   TEXT NOT NULL,
    from_status     TEXT NOT NULL DEFAULT '',
    to_status       TEXT NOT NULL DEFAULT '',
    changes         TEXT NOT NULL DEFAULT '{}',
    correlation_id  TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL
);
CREATE INDEX subscription_changes_sub ON subscription_changes (subscription_id, id);
