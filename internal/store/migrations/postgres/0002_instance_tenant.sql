-- The instance's own tenant: the owner of instance-level webhook sources
-- (one Stripe account billing every tenant, ingest URL /in/_/{source}). Its
-- slug "_" is one no real tenant can take, and lists hide it.
INSERT INTO tenants (id, slug, name, created_at, updated_at)
VALUES ('tn_00000000000000000000000000', '_', 'Instance', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z');
