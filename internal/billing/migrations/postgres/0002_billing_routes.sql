-- Routes of an instance-level Stripe source (one Stripe account billing
-- every tenant): which tenant a Stripe customer belongs to. tenant_id is the
-- owner (always the instance tenant); route_tenant_id is where the
-- customer's events are applied. link_source is "metadata" (learned from
-- joist_tenant in Stripe metadata) or "api" (PUT /v1/billing/customers/{id}
-- with the root key); metadata never replaces an API route.
CREATE TABLE billing_routes (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    stripe_customer TEXT NOT NULL,
    route_tenant_id TEXT NOT NULL REFERENCES tenants(id),
    link_source     TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, stripe_customer)
);
CREATE INDEX billing_routes_target ON billing_routes (route_tenant_id);
