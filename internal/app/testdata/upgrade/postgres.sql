--
-- PostgreSQL database dump
--


-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: joist_upgrade_fixture; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA IF NOT EXISTS joist_upgrade_fixture;


--
-- Name: river_job_state; Type: TYPE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TYPE joist_upgrade_fixture.river_job_state AS ENUM (
    'available',
    'cancelled',
    'completed',
    'discarded',
    'pending',
    'retryable',
    'running',
    'scheduled'
);


--
-- Name: audit_log_append_only(); Type: FUNCTION; Schema: joist_upgrade_fixture; Owner: -
--

CREATE FUNCTION joist_upgrade_fixture.audit_log_append_only() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;


--
-- Name: river_job_state_in_bitmask(bit, joist_upgrade_fixture.river_job_state); Type: FUNCTION; Schema: joist_upgrade_fixture; Owner: -
--

CREATE FUNCTION joist_upgrade_fixture.river_job_state_in_bitmask(bitmask bit, state joist_upgrade_fixture.river_job_state) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT CASE state
        WHEN 'available' THEN get_bit(bitmask, 7)
        WHEN 'cancelled' THEN get_bit(bitmask, 6)
        WHEN 'completed' THEN get_bit(bitmask, 5)
        WHEN 'discarded' THEN get_bit(bitmask, 4)
        WHEN 'pending'   THEN get_bit(bitmask, 3)
        WHEN 'retryable' THEN get_bit(bitmask, 2)
        WHEN 'running'   THEN get_bit(bitmask, 1)
        WHEN 'scheduled' THEN get_bit(bitmask, 0)
        ELSE 0
    END = 1;
$$;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: api_keys; Type: TABLE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TABLE joist_upgrade_fixture.api_keys (
    id text NOT NULL,
    tenant_id text,
    name text DEFAULT ''::text NOT NULL,
    prefix text NOT NULL,
    hash text NOT NULL,
    created_by text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    last_used_at timestamp with time zone,
    revoked_at timestamp with time zone
);


--
-- Name: audit_log; Type: TABLE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TABLE joist_upgrade_fixture.audit_log (
    id text NOT NULL,
    tenant_id text,
    actor_type text NOT NULL,
    actor_id text NOT NULL,
    actor_role text DEFAULT ''::text NOT NULL,
    action text NOT NULL,
    target_type text DEFAULT ''::text NOT NULL,
    target_id text DEFAULT ''::text NOT NULL,
    summary jsonb DEFAULT '{}'::jsonb NOT NULL,
    ip text DEFAULT ''::text NOT NULL,
    correlation_id text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: billing_customers; Type: TABLE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TABLE joist_upgrade_fixture.billing_customers (
    tenant_id text NOT NULL,
    stripe_customer text NOT NULL,
    contact_id text DEFAULT ''::text NOT NULL,
    link_source text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: billing_routes; Type: TABLE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TABLE joist_upgrade_fixture.billing_routes (
    tenant_id text NOT NULL,
    stripe_customer text NOT NULL,
    route_tenant_id text NOT NULL,
    link_source text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: contacts; Type: TABLE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TABLE joist_upgrade_fixture.contacts (
    id text NOT NULL,
    tenant_id text NOT NULL,
    external_id text NOT NULL,
    email text DEFAULT ''::text NOT NULL,
    name text DEFAULT ''::text NOT NULL,
    locale text DEFAULT ''::text NOT NULL,
    timezone text DEFAULT ''::text NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: idempotency_keys; Type: TABLE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TABLE joist_upgrade_fixture.idempotency_keys (
    tenant_id text NOT NULL,
    route text NOT NULL,
    key text NOT NULL,
    request_hash text NOT NULL,
    state text NOT NULL,
    status integer DEFAULT 0 NOT NULL,
    content_type text DEFAULT ''::text NOT NULL,
    headers text DEFAULT ''::text NOT NULL,
    body bytea,
    created_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone NOT NULL
);


--
-- Name: instance_settings; Type: TABLE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TABLE joist_upgrade_fixture.instance_settings (
    key text NOT NULL,
    value text NOT NULL
);


--
-- Name: job_attempts; Type: TABLE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TABLE joist_upgrade_fixture.job_attempts (
    job_id text NOT NULL,
    attempt integer NOT NULL,
    started_at timestamp with time zone NOT NULL,
    duration_ms bigint NOT NULL,
    status integer DEFAULT 0 NOT NULL,
    response_body text DEFAULT ''::text NOT NULL,
    error text DEFAULT ''::text NOT NULL,
    node text DEFAULT ''::text NOT NULL
);


--
-- Name: jobs; Type: TABLE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TABLE joist_upgrade_fixture.jobs (
    id text NOT NULL,
    tenant_id text NOT NULL,
    river_id bigint NOT NULL,
    kind text NOT NULL,
    queue text NOT NULL,
    url text DEFAULT ''::text NOT NULL,
    method text DEFAULT ''::text NOT NULL,
    unique_key text DEFAULT ''::text NOT NULL,
    schedule text DEFAULT ''::text NOT NULL,
    correlation_id text DEFAULT ''::text NOT NULL,
    dead_reason text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: joist_migrations; Type: TABLE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TABLE joist_upgrade_fixture.joist_migrations (
    version integer NOT NULL,
    name text NOT NULL,
    applied_at text NOT NULL
);


--
-- Name: operator_invites; Type: TABLE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TABLE joist_upgrade_fixture.operator_invites (
    token_hash text NOT NULL,
    operator_id text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone
);


--
-- Name: operator_tenants; Type: TABLE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TABLE joist_upgrade_fixture.operator_tenants (
    operator_id text NOT NULL,
    tenant_id text NOT NULL
);


--
-- Name: operators; Type: TABLE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TABLE joist_upgrade_fixture.operators (
    id text NOT NULL,
    email text NOT NULL,
    name text DEFAULT ''::text NOT NULL,
    role text NOT NULL,
    all_tenants boolean DEFAULT false NOT NULL,
    password_hash text DEFAULT ''::text NOT NULL,
    disabled_at timestamp with time zone,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: river_job; Type: TABLE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TABLE joist_upgrade_fixture.river_job (
    id bigint NOT NULL,
    state joist_upgrade_fixture.river_job_state DEFAULT 'available'::joist_upgrade_fixture.river_job_state NOT NULL,
    attempt smallint DEFAULT 0 NOT NULL,
    max_attempts smallint DEFAULT 25 NOT NULL,
    attempted_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    finalized_at timestamp with time zone,
    scheduled_at timestamp with time zone DEFAULT now() NOT NULL,
    priority smallint DEFAULT 1 NOT NULL,
    args jsonb NOT NULL,
    attempted_by text[],
    errors jsonb[],
    kind text NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    queue text DEFAULT 'default'::text NOT NULL,
    tags character varying(255)[] DEFAULT '{}'::character varying[] NOT NULL,
    unique_key bytea,
    unique_states bit(8),
    CONSTRAINT finalized_or_finalized_at_null CHECK ((((finalized_at IS NULL) AND (state <> ALL (ARRAY['cancelled'::joist_upgrade_fixture.river_job_state, 'completed'::joist_upgrade_fixture.river_job_state, 'discarded'::joist_upgrade_fixture.river_job_state]))) OR ((finalized_at IS NOT NULL) AND (state = ANY (ARRAY['cancelled'::joist_upgrade_fixture.river_job_state, 'completed'::joist_upgrade_fixture.river_job_state, 'discarded'::joist_upgrade_fixture.river_job_state]))))),
    CONSTRAINT kind_length CHECK (((char_length(kind) > 0) AND (char_length(kind) < 128))),
    CONSTRAINT max_attempts_is_positive CHECK ((max_attempts > 0)),
    CONSTRAINT priority_in_range CHECK (((priority >= 1) AND (priority <= 4))),
    CONSTRAINT queue_length CHECK (((char_length(queue) > 0) AND (char_length(queue) < 128)))
);


--
-- Name: river_job_id_seq; Type: SEQUENCE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE SEQUENCE joist_upgrade_fixture.river_job_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: river_job_id_seq; Type: SEQUENCE OWNED BY; Schema: joist_upgrade_fixture; Owner: -
--

ALTER SEQUENCE joist_upgrade_fixture.river_job_id_seq OWNED BY joist_upgrade_fixture.river_job.id;


--
-- Name: river_leader; Type: TABLE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE UNLOGGED TABLE joist_upgrade_fixture.river_leader (
    elected_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    leader_id text NOT NULL,
    name text DEFAULT 'default'::text NOT NULL,
    CONSTRAINT leader_id_length CHECK (((char_length(leader_id) > 0) AND (char_length(leader_id) < 128))),
    CONSTRAINT name_length CHECK ((name = 'default'::text))
);


--
-- Name: river_migration; Type: TABLE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TABLE joist_upgrade_fixture.river_migration (
    line text NOT NULL,
    version bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT line_length CHECK (((char_length(line) > 0) AND (char_length(line) < 128))),
    CONSTRAINT version_gte_1 CHECK ((version >= 1))
);


--
-- Name: river_notification; Type: TABLE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TABLE joist_upgrade_fixture.river_notification (
    id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    payload text NOT NULL,
    topic text NOT NULL,
    CONSTRAINT topic_length CHECK (((length(topic) > 0) AND (length(topic) < 128)))
);


--
-- Name: river_notification_id_seq; Type: SEQUENCE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE SEQUENCE joist_upgrade_fixture.river_notification_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: river_notification_id_seq; Type: SEQUENCE OWNED BY; Schema: joist_upgrade_fixture; Owner: -
--

ALTER SEQUENCE joist_upgrade_fixture.river_notification_id_seq OWNED BY joist_upgrade_fixture.river_notification.id;


--
-- Name: river_queue; Type: TABLE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TABLE joist_upgrade_fixture.river_queue (
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    paused_at timestamp with time zone,
    updated_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL
);


--
-- Name: schedule_runs; Type: TABLE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TABLE joist_upgrade_fixture.schedule_runs (
    schedule_id text NOT NULL,
    tenant_id text NOT NULL,
    slot timestamp with time zone NOT NULL,
    catch_up boolean DEFAULT false NOT NULL,
    job_id text DEFAULT ''::text NOT NULL,
    error text DEFAULT ''::text NOT NULL,
    node text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: schedules; Type: TABLE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TABLE joist_upgrade_fixture.schedules (
    id text NOT NULL,
    tenant_id text NOT NULL,
    name text NOT NULL,
    cron text NOT NULL,
    timezone text NOT NULL,
    job text NOT NULL,
    missed text NOT NULL,
    paused boolean DEFAULT false NOT NULL,
    version bigint DEFAULT 1 NOT NULL,
    next_run_at timestamp with time zone NOT NULL,
    last_run_at timestamp with time zone,
    last_job_id text DEFAULT ''::text NOT NULL,
    last_error text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: sessions; Type: TABLE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TABLE joist_upgrade_fixture.sessions (
    id_hash text NOT NULL,
    operator_id text NOT NULL,
    csrf_token text NOT NULL,
    ip text DEFAULT ''::text NOT NULL,
    user_agent text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    last_seen_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    revoked_at timestamp with time zone
);


--
-- Name: signing_secrets; Type: TABLE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TABLE joist_upgrade_fixture.signing_secrets (
    id text NOT NULL,
    tenant_id text NOT NULL,
    secret_enc text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone
);


--
-- Name: subscription_changes; Type: TABLE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TABLE joist_upgrade_fixture.subscription_changes (
    id text NOT NULL,
    tenant_id text NOT NULL,
    subscription_id text NOT NULL,
    event_id text DEFAULT ''::text NOT NULL,
    stripe_event_id text DEFAULT ''::text NOT NULL,
    event_type text DEFAULT ''::text NOT NULL,
    event_created timestamp with time zone NOT NULL,
    from_status text DEFAULT ''::text NOT NULL,
    to_status text DEFAULT ''::text NOT NULL,
    changes jsonb DEFAULT '{}'::jsonb NOT NULL,
    correlation_id text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: subscriptions; Type: TABLE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TABLE joist_upgrade_fixture.subscriptions (
    id text NOT NULL,
    tenant_id text NOT NULL,
    livemode boolean NOT NULL,
    stripe_subscription text NOT NULL,
    stripe_customer text DEFAULT ''::text NOT NULL,
    contact_id text DEFAULT ''::text NOT NULL,
    status text DEFAULT ''::text NOT NULL,
    price_id text DEFAULT ''::text NOT NULL,
    product_id text DEFAULT ''::text NOT NULL,
    plan_nickname text DEFAULT ''::text NOT NULL,
    quantity integer DEFAULT 0 NOT NULL,
    current_period_end timestamp with time zone,
    cancel_at_period_end boolean DEFAULT false NOT NULL,
    cancel_at timestamp with time zone,
    trial_end timestamp with time zone,
    canceled_at timestamp with time zone,
    latest_invoice text DEFAULT ''::text NOT NULL,
    payment_status text DEFAULT ''::text NOT NULL,
    state_event_id text DEFAULT ''::text NOT NULL,
    state_event_created timestamp with time zone,
    payment_event_created timestamp with time zone,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    state_fetched_at timestamp with time zone
);


--
-- Name: tenants; Type: TABLE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TABLE joist_upgrade_fixture.tenants (
    id text NOT NULL,
    slug text NOT NULL,
    name text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: timeline; Type: TABLE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TABLE joist_upgrade_fixture.timeline (
    id text NOT NULL,
    tenant_id text NOT NULL,
    contact_id text NOT NULL,
    kind text NOT NULL,
    summary text DEFAULT ''::text NOT NULL,
    ref_type text DEFAULT ''::text NOT NULL,
    ref_id text DEFAULT ''::text NOT NULL,
    correlation_id text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: webhook_events; Type: TABLE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TABLE joist_upgrade_fixture.webhook_events (
    id text NOT NULL,
    tenant_id text NOT NULL,
    source_id text NOT NULL,
    provider_event_id text NOT NULL,
    event_type text DEFAULT ''::text NOT NULL,
    content_type text DEFAULT ''::text NOT NULL,
    headers jsonb DEFAULT '{}'::jsonb NOT NULL,
    body bytea NOT NULL,
    verification text DEFAULT ''::text NOT NULL,
    forward_job_id text DEFAULT ''::text NOT NULL,
    correlation_id text DEFAULT ''::text NOT NULL,
    received_at timestamp with time zone NOT NULL
);


--
-- Name: webhook_rejections; Type: TABLE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TABLE joist_upgrade_fixture.webhook_rejections (
    id text NOT NULL,
    tenant_id text NOT NULL,
    source_id text NOT NULL,
    code text NOT NULL,
    detail text DEFAULT ''::text NOT NULL,
    headers jsonb DEFAULT '{}'::jsonb NOT NULL,
    size integer DEFAULT 0 NOT NULL,
    remote_ip text DEFAULT ''::text NOT NULL,
    received_at timestamp with time zone NOT NULL
);


--
-- Name: webhook_sources; Type: TABLE; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TABLE joist_upgrade_fixture.webhook_sources (
    id text NOT NULL,
    tenant_id text NOT NULL,
    name text NOT NULL,
    provider text NOT NULL,
    config text NOT NULL,
    forward_url text DEFAULT ''::text NOT NULL,
    forward_types text DEFAULT '[]'::text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: river_job id; Type: DEFAULT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.river_job ALTER COLUMN id SET DEFAULT nextval('joist_upgrade_fixture.river_job_id_seq'::regclass);


--
-- Name: river_notification id; Type: DEFAULT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.river_notification ALTER COLUMN id SET DEFAULT nextval('joist_upgrade_fixture.river_notification_id_seq'::regclass);


--
-- Data for Name: api_keys; Type: TABLE DATA; Schema: joist_upgrade_fixture; Owner: -
--

INSERT INTO joist_upgrade_fixture.api_keys VALUES ('key_01m8jryyqq67mrmwkac47m88mb', 'tn_01m8jryym21v8t3tz4q22x5s1c', 'upgrade fixture key', 'jk_btpF6w', 'd883e1928bda19118dd3c58909ab77b2fdb0181585a0a0e57dd019b6da9b4952', 'root:root:config', '2026-11-29 04:28:09.8476+00', NULL, NULL);
INSERT INTO joist_upgrade_fixture.api_keys VALUES ('key_01m8jryyxhjcv3945yz40xhbtb', 'tn_01m8jryym21v8t3tz4q22x5s1c', 'revoked key', 'jk_pnfvAp', '955b53027d75443c2d8cb96bf33c610c2d9193dbc4ab8fc913d76f92a6645ad8', 'root:root:config', '2026-11-29 04:28:10.033414+00', NULL, '2026-11-29 04:28:10.133513+00');


--
-- Data for Name: audit_log; Type: TABLE DATA; Schema: joist_upgrade_fixture; Owner: -
--

INSERT INTO joist_upgrade_fixture.audit_log VALUES ('aud_01m8jryy2015gagms8bwgqky9e', NULL, 'system', 'bootstrap', 'system', 'operator.create', 'operator', 'op_01m8jryy18h8z30h43ra69tnch', '{"after": {"role": "owner", "tenants": null, "disabled": false, "all_tenants": true}}', '', '', '2026-11-29 04:28:09.152163+00');
INSERT INTO joist_upgrade_fixture.audit_log VALUES ('aud_01m8jryym62d5spkdhqf7qsmaa', 'tn_01m8jryym21v8t3tz4q22x5s1c', 'root', 'root:config', 'root', 'tenant.create', 'tenant', 'tn_01m8jryym21v8t3tz4q22x5s1c', '{"after": {"slug": "acme"}}', '127.0.0.1', 'fixture-tenant-acme', '2026-11-29 04:28:09.7347+00');
INSERT INTO joist_upgrade_fixture.audit_log VALUES ('aud_01m8jryypjv0gfrrb7gf7cbaqt', 'tn_01m8jryyph89baadszxjdr2hmt', 'root', 'root:config', 'root', 'tenant.create', 'tenant', 'tn_01m8jryyph89baadszxjdr2hmt', '{"after": {"slug": "globex"}}', '127.0.0.1', 'fixture-tenant-globex', '2026-11-29 04:28:09.810478+00');
INSERT INTO joist_upgrade_fixture.audit_log VALUES ('aud_01m8jryyqr995yr1qjhmjprb59', 'tn_01m8jryym21v8t3tz4q22x5s1c', 'root', 'root:config', 'root', 'key.create', 'api_key', 'key_01m8jryyqq67mrmwkac47m88mb', '{"after": {"prefix": "jk_btpF6w"}}', '127.0.0.1', 'cor_01m8jryyqp8mdak8j9a0a93sx3', '2026-11-29 04:28:09.848641+00');
INSERT INTO joist_upgrade_fixture.audit_log VALUES ('aud_01m8jryyxhjcv3945yz67tteek', 'tn_01m8jryym21v8t3tz4q22x5s1c', 'root', 'root:config', 'root', 'key.create', 'api_key', 'key_01m8jryyxhjcv3945yz40xhbtb', '{"after": {"prefix": "jk_pnfvAp"}}', '127.0.0.1', 'cor_01m8jryyxgw4zv10yh3qw44y5a', '2026-11-29 04:28:10.033799+00');
INSERT INTO joist_upgrade_fixture.audit_log VALUES ('aud_01m8jryz0p2dy9hnr1nvaqrzqj', 'tn_01m8jryym21v8t3tz4q22x5s1c', 'root', 'root:config', 'root', 'key.revoke', 'api_key', 'key_01m8jryyxhjcv3945yz40xhbtb', '{"after": {"revoked": true}, "before": {"revoked": false}}', '127.0.0.1', 'cor_01m8jryz0m936bxm8jergw400w', '2026-11-29 04:28:10.134175+00');
INSERT INTO joist_upgrade_fixture.audit_log VALUES ('aud_01m8jrz07j0h6txef2qkh45d3y', NULL, 'cli', 'cli', 'cli', 'operator.create', 'operator', 'op_01m8jrz07fpn17zb9rfksnmjt0', '{"after": {"role": "support", "tenants": ["tn_01m8jryym21v8t3tz4q22x5s1c"], "disabled": false, "all_tenants": false}}', 'cli@vm', '', '2026-11-29 04:28:11.378134+00');
INSERT INTO joist_upgrade_fixture.audit_log VALUES ('aud_01m8jrz0pfdphezxgs7ssn2a5q', 'tn_01m8jryyph89baadszxjdr2hmt', 'root', 'root:config', 'root', 'job.cancel', 'job', 'job_01m8jrz0hwjetbv3zddj4zb2b7', '{"after": {"state": "cancelled"}, "before": {"state": "scheduled"}}', '127.0.0.1', 'cor_01m8jrz0p7748zz2h9x5b9whw8', '2026-11-29 04:28:11.855135+00');
INSERT INTO joist_upgrade_fixture.audit_log VALUES ('aud_01m8jrz0r4w6ncnynqm7826rpt', 'tn_01m8jryym21v8t3tz4q22x5s1c', 'root', 'root:config', 'root', 'schedule.put', 'schedule', 'sch_01m8jrz0r4w6ncnynqm455sqx3', '{"cron": "0 9 * * 1-5", "name": "daily-report", "missed": "skip", "paused": false, "created": true, "timezone": "Europe/Paris"}', '127.0.0.1', 'cor_01m8jrz0r3471j7gqy9f2a87cy', '2026-11-29 04:28:11.908933+00');
INSERT INTO joist_upgrade_fixture.audit_log VALUES ('aud_01m8jrz0t3h7d00h7a2y81r4wt', 'tn_01m8jryym21v8t3tz4q22x5s1c', 'root', 'root:config', 'root', 'schedule.put', 'schedule', 'sch_01m8jrz0t28j1gan1m6xy8d7m2', '{"cron": "@weekly", "name": "weekly-digest", "missed": "run_once", "paused": true, "created": true, "timezone": "UTC"}', '127.0.0.1', 'cor_01m8jrz0sxk3gzj9qegfps4b6w', '2026-11-29 04:28:11.971198+00');
INSERT INTO joist_upgrade_fixture.audit_log VALUES ('aud_01m8jrz0vc4ah32fxz8af8ktrb', 'tn_01m8jryym21v8t3tz4q22x5s1c', 'root', 'root:config', 'root', 'webhook_source.create', 'webhook_source', 'src_01m8jrz0vakspak6mdcczcxmtz', '{"after": {"forward": true, "secrets": 1, "provider": "standard_webhooks"}}', '127.0.0.1', 'cor_01m8jrz0v9f5seqkc9h1bfh47s', '2026-11-29 04:28:12.012337+00');
INSERT INTO joist_upgrade_fixture.audit_log VALUES ('aud_01m8jrz0wknpnfxe0bd8kyydra', 'tn_01m8jryym21v8t3tz4q22x5s1c', 'root', 'root:config', 'root', 'webhook_source.create', 'webhook_source', 'src_01m8jrz0wknpnfxe0bd5mqwyja', '{"after": {"forward": false, "secrets": 1, "provider": "stripe"}}', '127.0.0.1', 'cor_01m8jrz0wjr7th1323yh6t6nxs', '2026-11-29 04:28:12.05196+00');
INSERT INTO joist_upgrade_fixture.audit_log VALUES ('aud_01m8jrz12hw16dr0t9kbrasfsp', 'tn_00000000000000000000000000', 'root', 'root:config', 'root', 'webhook_source.create', 'webhook_source', 'src_01m8jrz12g2cabeg4cznefsx0v', '{"after": {"forward": false, "secrets": 1, "provider": "stripe"}}', '127.0.0.1', 'cor_01m8jrz12g2cabeg4czn4hncex', '2026-11-29 04:28:12.241544+00');
INSERT INTO joist_upgrade_fixture.audit_log VALUES ('aud_01m8jrz1p0bwb3tgbfynxq3adt', 'tn_01m8jryym21v8t3tz4q22x5s1c', 'root', 'root:config', 'root', 'billing_customer.link', 'billing_customer', 'cus_UpgradeFixture0002', '{"contact": "user_43", "previous_contact_id": ""}', '127.0.0.1', 'cor_01m8jrz1nzfhqz7gsytrzjmcty', '2026-11-29 04:28:12.864939+00');
INSERT INTO joist_upgrade_fixture.audit_log VALUES ('aud_01m8jrz1r5qrhy0ex3cqv3p7xk', 'tn_00000000000000000000000000', 'root', 'root:config', 'root', 'billing_customer.route', 'billing_customer', 'cus_UpgradeFixture0003', '{"tenant_id": "tn_01m8jryyph89baadszxjdr2hmt", "previous_tenant_id": ""}', '127.0.0.1', 'cor_01m8jrz1r2m1sdsdgs2pd323sg', '2026-11-29 04:28:12.933225+00');
INSERT INTO joist_upgrade_fixture.audit_log VALUES ('aud_01m8jrz1r70ts9qxsy412ehm25', 'tn_01m8jryyph89baadszxjdr2hmt', 'root', 'root:config', 'root', 'billing_customer.link', 'billing_customer', 'cus_UpgradeFixture0003', '{"contact": "user_7", "previous_contact_id": ""}', '127.0.0.1', 'cor_01m8jrz1r2m1sdsdgs2pd323sg', '2026-11-29 04:28:12.935101+00');


--
-- Data for Name: billing_customers; Type: TABLE DATA; Schema: joist_upgrade_fixture; Owner: -
--

INSERT INTO joist_upgrade_fixture.billing_customers VALUES ('tn_01m8jryym21v8t3tz4q22x5s1c', 'cus_UpgradeFixture0001', 'ct_01m8jryz1r6vs7f0m4r7nb7bsw', 'metadata', '2026-11-29 04:28:12.601035+00', '2026-11-29 04:28:12.601035+00');
INSERT INTO joist_upgrade_fixture.billing_customers VALUES ('tn_01m8jryym21v8t3tz4q22x5s1c', 'cus_UpgradeFixture0002', 'ct_01m8jryz96ygs97nhjvxpft63e', 'api', '2026-11-29 04:28:12.864404+00', '2026-11-29 04:28:12.864404+00');
INSERT INTO joist_upgrade_fixture.billing_customers VALUES ('tn_01m8jryyph89baadszxjdr2hmt', 'cus_UpgradeFixture0003', 'ct_01m8jryzec6q0z3w4n8va88tv3', 'api', '2026-11-29 04:28:12.933657+00', '2026-11-29 04:28:12.933657+00');


--
-- Data for Name: billing_routes; Type: TABLE DATA; Schema: joist_upgrade_fixture; Owner: -
--

INSERT INTO joist_upgrade_fixture.billing_routes VALUES ('tn_00000000000000000000000000', 'cus_UpgradeFixture0003', 'tn_01m8jryyph89baadszxjdr2hmt', 'api', '2026-11-29 04:28:12.931848+00', '2026-11-29 04:28:12.931848+00');


--
-- Data for Name: contacts; Type: TABLE DATA; Schema: joist_upgrade_fixture; Owner: -
--

INSERT INTO joist_upgrade_fixture.contacts VALUES ('ct_01m8jryz1r6vs7f0m4r7nb7bsw', 'tn_01m8jryym21v8t3tz4q22x5s1c', 'user_42', 'ann@example.com', 'Ann Lee', 'en-GB', 'Europe/Paris', '{"plan": "pro", "tags": ["vip"], "seats": 3}', '2026-11-29 04:28:10.167643+00', '2026-11-29 04:28:10.167643+00');
INSERT INTO joist_upgrade_fixture.contacts VALUES ('ct_01m8jryz96ygs97nhjvxpft63e', 'tn_01m8jryym21v8t3tz4q22x5s1c', 'user_43', 'bob@example.com', 'Bob Stone', '', '', '{}', '2026-11-29 04:28:10.406593+00', '2026-11-29 04:28:10.406593+00');
INSERT INTO joist_upgrade_fixture.contacts VALUES ('ct_01m8jryzec6q0z3w4n8va88tv3', 'tn_01m8jryyph89baadszxjdr2hmt', 'user_7', 'gus@globex.example', 'Gus Grant', '', '', '{"region": "eu"}', '2026-11-29 04:28:10.572427+00', '2026-11-29 04:28:10.572427+00');


--
-- Data for Name: idempotency_keys; Type: TABLE DATA; Schema: joist_upgrade_fixture; Owner: -
--

INSERT INTO joist_upgrade_fixture.idempotency_keys VALUES ('tn_01m8jryym21v8t3tz4q22x5s1c', 'POST /v1/jobs', 'fixture-push-retrying', '39ecbb762de3c16fe545863ad4ff9b46352c1536509d2cf05a65cd449572d481', 'done', 202, 'application/json', 'Location: /v1/jobs/job_01m8jrz09g4ry3sq9d1ba55w2n', '\x7b226964223a226a6f625f30316d386a727a3039673472793373713964316261353577326e222c226b696e64223a22687474705f70757368222c227175657565223a2264656661756c74222c227374617465223a22617661696c61626c65222c227072696f72697479223a322c22617474656d7074223a302c226d61785f617474656d707473223a32352c2275726c223a22687474703a2f2f3132372e302e302e313a392f757067726164652f70757368222c226d6574686f64223a22504f5354222c22756e697175655f6b6579223a22222c227363686564756c65223a22222c22636f7272656c6174696f6e5f6964223a22666978747572652d707573682d7265747279696e67222c22646561645f726561736f6e223a22222c22637265617465645f6174223a22323032362d31312d32395430343a32383a31312e34343234355a222c227363686564756c65645f6174223a22323032362d31312d32395430343a32383a31312e3434303139365a222c22617474656d707465645f6174223a6e756c6c2c2266696e616c697a65645f6174223a6e756c6c7d0a', '2026-11-29 04:28:11.423684+00', '2026-12-06 04:28:11.423684+00');


--
-- Data for Name: instance_settings; Type: TABLE DATA; Schema: joist_upgrade_fixture; Owner: -
--



--
-- Data for Name: job_attempts; Type: TABLE DATA; Schema: joist_upgrade_fixture; Owner: -
--

INSERT INTO joist_upgrade_fixture.job_attempts VALUES ('job_01m8jrz09g4ry3sq9d1ba55w2n', 1, '2026-11-29 04:28:11.446045+00', 5, 0, '', 'Post "http://127.0.0.1:9/upgrade/push": dial tcp 127.0.0.1:9: connect: connection refused', 'vm-6952');
INSERT INTO joist_upgrade_fixture.job_attempts VALUES ('job_01m8jrz15ev81rtqcwfm0axnyg', 1, '2026-11-29 04:28:12.341784+00', 1, 0, '', 'Post "http://127.0.0.1:9/upgrade/forward": dial tcp 127.0.0.1:9: connect: connection refused', 'vm-6952');
INSERT INTO joist_upgrade_fixture.job_attempts VALUES ('job_01m8jrz09g4ry3sq9d1ba55w2n', 2, '2026-11-29 04:28:12.594181+00', 0, 0, '', 'Post "http://127.0.0.1:9/upgrade/push": dial tcp 127.0.0.1:9: connect: connection refused', 'vm-6952');
INSERT INTO joist_upgrade_fixture.job_attempts VALUES ('job_01m8jrz15ev81rtqcwfm0axnyg', 2, '2026-11-29 04:28:13.862859+00', 1, 0, '', 'Post "http://127.0.0.1:9/upgrade/forward": dial tcp 127.0.0.1:9: connect: connection refused', 'vm-6952');
INSERT INTO joist_upgrade_fixture.job_attempts VALUES ('job_01m8jrz09g4ry3sq9d1ba55w2n', 3, '2026-11-29 04:28:16.014573+00', 1, 0, '', 'Post "http://127.0.0.1:9/upgrade/push": dial tcp 127.0.0.1:9: connect: connection refused', 'vm-6952');
INSERT INTO joist_upgrade_fixture.job_attempts VALUES ('job_01m8jrz15ev81rtqcwfm0axnyg', 3, '2026-11-29 04:28:16.014693+00', 1, 0, '', 'Post "http://127.0.0.1:9/upgrade/forward": dial tcp 127.0.0.1:9: connect: connection refused', 'vm-6952');
INSERT INTO joist_upgrade_fixture.job_attempts VALUES ('job_01m8jrz15ev81rtqcwfm0axnyg', 4, '2026-11-29 04:28:20.224519+00', 4, 0, '', 'Post "http://127.0.0.1:9/upgrade/forward": dial tcp 127.0.0.1:9: connect: connection refused', 'vm-6952');
INSERT INTO joist_upgrade_fixture.job_attempts VALUES ('job_01m8jrz09g4ry3sq9d1ba55w2n', 4, '2026-11-29 04:28:21.257182+00', 0, 0, '', 'Post "http://127.0.0.1:9/upgrade/push": dial tcp 127.0.0.1:9: connect: connection refused', 'vm-6952');


--
-- Data for Name: jobs; Type: TABLE DATA; Schema: joist_upgrade_fixture; Owner: -
--

INSERT INTO joist_upgrade_fixture.jobs VALUES ('job_01m8jrz09g4ry3sq9d1ba55w2n', 'tn_01m8jryym21v8t3tz4q22x5s1c', 1, 'http_push', 'default', 'http://127.0.0.1:9/upgrade/push', 'POST', '', '', 'fixture-push-retrying', '', '2026-11-29 04:28:11.44245+00');
INSERT INTO joist_upgrade_fixture.jobs VALUES ('job_01m8jrz0bbegcx5pfzgtn1vw8r', 'tn_01m8jryym21v8t3tz4q22x5s1c', 2, 'http_push', 'default', 'http://127.0.0.1:9/upgrade/push', 'POST', '', '', 'fixture-push-scheduled', '', '2026-11-29 04:28:11.500893+00');
INSERT INTO joist_upgrade_fixture.jobs VALUES ('job_01m8jrz0cjwq6pvqr95qk6mej6', 'tn_01m8jryym21v8t3tz4q22x5s1c', 3, 'http_push', 'default', 'http://127.0.0.1:9/upgrade/push', 'PUT', 'fixture-unique-1', '', 'fixture-push-unique', '', '2026-11-29 04:28:11.539127+00');
INSERT INTO joist_upgrade_fixture.jobs VALUES ('job_01m8jrz0hwjetbv3zddj4zb2b7', 'tn_01m8jryyph89baadszxjdr2hmt', 5, 'http_push', 'default', 'http://127.0.0.1:9/upgrade/push', 'POST', '', '', 'cor_01m8jrz0hv3taqz1731zqd24n3', '', '2026-11-29 04:28:11.709247+00');
INSERT INTO joist_upgrade_fixture.jobs VALUES ('job_01m8jrz15ev81rtqcwfm0axnyg', 'tn_01m8jryym21v8t3tz4q22x5s1c', 6, 'http_push', 'default', 'http://127.0.0.1:9/upgrade/forward', 'POST', '', '', 'fixture-standard-delivery', '', '2026-11-29 04:28:12.338538+00');
INSERT INTO joist_upgrade_fixture.jobs VALUES ('job_01m8jrz1de0g3dq1nkwj3jw6md', 'tn_01m8jryym21v8t3tz4q22x5s1c', 7, 'stripe_event', 'default', '', '', '', '', 'cor_01m8jrz1db02djbartrdabmz38', '', '2026-11-29 04:28:12.590307+00');
INSERT INTO joist_upgrade_fixture.jobs VALUES ('job_01m8jrz1gsdb8pbtybphpegmjp', 'tn_01m8jryym21v8t3tz4q22x5s1c', 8, 'stripe_event', 'default', '', '', '', '', 'cor_01m8jrz1gq3wyvmmxzxhh7ygz2', '', '2026-11-29 04:28:12.697301+00');


--
-- Data for Name: joist_migrations; Type: TABLE DATA; Schema: joist_upgrade_fixture; Owner: -
--

INSERT INTO joist_upgrade_fixture.joist_migrations VALUES (1, '0001_core.sql', '2026-11-29T04:28:06Z');
INSERT INTO joist_upgrade_fixture.joist_migrations VALUES (2, '0002_jobs.sql', '2026-11-29T04:28:07Z');
INSERT INTO joist_upgrade_fixture.joist_migrations VALUES (3, '0003_schedules.sql', '2026-11-29T04:28:07Z');
INSERT INTO joist_upgrade_fixture.joist_migrations VALUES (4, '0004_webhooks.sql', '2026-11-29T04:28:07Z');
INSERT INTO joist_upgrade_fixture.joist_migrations VALUES (5, '0005_billing.sql', '2026-11-29T04:28:07Z');
INSERT INTO joist_upgrade_fixture.joist_migrations VALUES (6, '0006_instance_tenant.sql', '2026-11-29T04:28:07Z');
INSERT INTO joist_upgrade_fixture.joist_migrations VALUES (7, '0007_billing_routes.sql', '2026-11-29T04:28:07Z');
INSERT INTO joist_upgrade_fixture.joist_migrations VALUES (8, '0008_subscription_fetched.sql', '2026-11-29T04:28:07Z');


--
-- Data for Name: operator_invites; Type: TABLE DATA; Schema: joist_upgrade_fixture; Owner: -
--



--
-- Data for Name: operator_tenants; Type: TABLE DATA; Schema: joist_upgrade_fixture; Owner: -
--

INSERT INTO joist_upgrade_fixture.operator_tenants VALUES ('op_01m8jrz07fpn17zb9rfksnmjt0', 'tn_01m8jryym21v8t3tz4q22x5s1c');


--
-- Data for Name: operators; Type: TABLE DATA; Schema: joist_upgrade_fixture; Owner: -
--

INSERT INTO joist_upgrade_fixture.operators VALUES ('op_01m8jryy18h8z30h43ra69tnch', 'owner@example.com', 'Owner', 'owner', true, '$argon2id$v=19$m=65536,t=3,p=2$JLzBrbeDqmQKceRiR6RDEA$onub8hX2/C4EKWNSZmIhZ/KCRWet44Cosoi7VAJPyFM', NULL, '2026-11-29 04:28:09.128744+00', '2026-11-29 04:28:09.128744+00');
INSERT INTO joist_upgrade_fixture.operators VALUES ('op_01m8jrz07fpn17zb9rfksnmjt0', 'support@example.com', 'Sam Support', 'support', false, '$argon2id$v=19$m=65536,t=3,p=2$UhKEofxMMp6VmMyRsM920A$v+ZmEtPQl5t+9Mfohad2trD63TRmPguRNM0PNEowW6I', NULL, '2026-11-29 04:28:11.375553+00', '2026-11-29 04:28:11.375553+00');


--
-- Data for Name: river_job; Type: TABLE DATA; Schema: joist_upgrade_fixture; Owner: -
--

INSERT INTO joist_upgrade_fixture.river_job VALUES (2, 'scheduled', 0, 10, NULL, '2026-11-29 04:28:11.499263+00', NULL, '2026-11-29 05:28:11.499221+00', 2, '{"url": "http://127.0.0.1:9/upgrade/push", "body": "{\"fixture\":\"scheduled\"}", "job_id": "job_01m8jrz0bbegcx5pfzgtn1vw8r", "method": "POST", "tenant_id": "tn_01m8jryym21v8t3tz4q22x5s1c", "timeout_ms": 30000, "content_type": "application/json", "correlation_id": "fixture-push-scheduled"}', NULL, NULL, 'http_push', '{}', 'default', '{}', NULL, NULL);
INSERT INTO joist_upgrade_fixture.river_job VALUES (3, 'scheduled', 0, 10, NULL, '2026-11-29 04:28:11.538399+00', NULL, '2026-11-29 06:28:11.53834+00', 1, '{"url": "http://127.0.0.1:9/upgrade/push", "body": "{\"fixture\":\"unique\"}", "job_id": "job_01m8jrz0cjwq6pvqr95qk6mej6", "method": "PUT", "headers": {"X-Fixture": "unique"}, "tenant_id": "tn_01m8jryym21v8t3tz4q22x5s1c", "timeout_ms": 30000, "unique_key": "fixture-unique-1", "content_type": "application/json", "correlation_id": "fixture-push-unique"}', NULL, NULL, 'http_push', '{}', 'default', '{}', '\x09a425f99a490d31c65661c949708426fc3fc2ae0a9f70d69cecb120ed0f3ccc', B'11110001');
INSERT INTO joist_upgrade_fixture.river_job VALUES (5, 'cancelled', 0, 10, NULL, '2026-11-29 04:28:11.708613+00', '2026-11-29 04:28:11.848538+00', '2026-11-29 05:28:11.708583+00', 2, '{"url": "http://127.0.0.1:9/upgrade/push", "body": "{\"fixture\":\"cancelled\"}", "job_id": "job_01m8jrz0hwjetbv3zddj4zb2b7", "method": "POST", "tenant_id": "tn_01m8jryyph89baadszxjdr2hmt", "timeout_ms": 30000, "content_type": "application/json", "correlation_id": "cor_01m8jrz0hv3taqz1731zqd24n3"}', NULL, NULL, 'http_push', '{"cancel_attempted_at": "2026-11-29T04:28:11.849165147Z"}', 'default', '{}', NULL, NULL);
INSERT INTO joist_upgrade_fixture.river_job VALUES (7, 'completed', 1, 10, '2026-11-29 04:28:12.591753+00', '2026-11-29 04:28:12.589471+00', '2026-11-29 04:28:12.616656+00', '2026-11-29 04:28:12.589471+00', 1, '{"event_id": "evt_01m8jrz1dce950yh2s3bxa1cj2", "tenant_id": "tn_01m8jryym21v8t3tz4q22x5s1c"}', '{vm-6952}', NULL, 'stripe_event', '{}', 'default', '{}', NULL, NULL);
INSERT INTO joist_upgrade_fixture.river_job VALUES (8, 'completed', 1, 10, '2026-11-29 04:28:12.699656+00', '2026-11-29 04:28:12.696489+00', '2026-11-29 04:28:12.706737+00', '2026-11-29 04:28:12.696489+00', 1, '{"event_id": "evt_01m8jrz1gq3wyvmmxzxmkweeqd", "tenant_id": "tn_01m8jryym21v8t3tz4q22x5s1c"}', '{vm-6952}', NULL, 'stripe_event', '{}', 'default', '{}', NULL, NULL);
INSERT INTO joist_upgrade_fixture.river_job VALUES (1, 'retryable', 4, 25, '2026-11-29 04:28:21.247755+00', '2026-11-29 04:28:11.440196+00', NULL, '2026-11-29 04:28:28.380117+00', 2, '{"url": "http://127.0.0.1:9/upgrade/push", "body": "{\"fixture\":\"retrying\"}", "job_id": "job_01m8jrz09g4ry3sq9d1ba55w2n", "method": "POST", "tenant_id": "tn_01m8jryym21v8t3tz4q22x5s1c", "timeout_ms": 30000, "content_type": "application/json", "correlation_id": "fixture-push-retrying"}', '{vm-6952,vm-6952,vm-6952,vm-6952}', '{"{\"at\": \"2026-11-29T04:28:11.445969194Z\", \"error\": \"Post \\\"http://127.0.0.1:9/upgrade/push\\\": dial tcp 127.0.0.1:9: connect: connection refused\", \"trace\": \"\", \"attempt\": 1}","{\"at\": \"2026-11-29T04:28:12.593933047Z\", \"error\": \"Post \\\"http://127.0.0.1:9/upgrade/push\\\": dial tcp 127.0.0.1:9: connect: connection refused\", \"trace\": \"\", \"attempt\": 2}","{\"at\": \"2026-11-29T04:28:16.014511118Z\", \"error\": \"Post \\\"http://127.0.0.1:9/upgrade/push\\\": dial tcp 127.0.0.1:9: connect: connection refused\", \"trace\": \"\", \"attempt\": 3}","{\"at\": \"2026-11-29T04:28:21.257070551Z\", \"error\": \"Post \\\"http://127.0.0.1:9/upgrade/push\\\": dial tcp 127.0.0.1:9: connect: connection refused\", \"trace\": \"\", \"attempt\": 4}"}', 'http_push', '{}', 'default', '{}', NULL, NULL);
INSERT INTO joist_upgrade_fixture.river_job VALUES (6, 'retryable', 4, 15, '2026-11-29 04:28:20.222989+00', '2026-11-29 04:28:12.337458+00', NULL, '2026-11-29 04:28:27.315597+00', 2, '{"url": "http://127.0.0.1:9/upgrade/forward", "job_id": "job_01m8jrz15ev81rtqcwfm0axnyg", "method": "POST", "headers": {"Joist-Source": "standard", "Joist-Event-Id": "evt_01m8jrz15ev81rtqcwfj4a1ge9", "Joist-Event-Type": "user.updated", "Joist-Provider-Accept": "*/*", "Joist-Provider-Event-Id": "msg_upgrade_fixture_0001", "Joist-Provider-User-Agent": "curl/7.88.1", "Joist-Provider-Joist-Correlation-Id": "fixture-standard-delivery"}, "tenant_id": "tn_01m8jryym21v8t3tz4q22x5s1c", "body_event": "evt_01m8jrz15ev81rtqcwfj4a1ge9", "timeout_ms": 30000, "webhook_id": "evt_01m8jrz15ev81rtqcwfj4a1ge9", "content_type": "application/json", "correlation_id": "fixture-standard-delivery"}', '{vm-6952,vm-6952,vm-6952,vm-6952}', '{"{\"at\": \"2026-11-29T04:28:12.341722003Z\", \"error\": \"Post \\\"http://127.0.0.1:9/upgrade/forward\\\": dial tcp 127.0.0.1:9: connect: connection refused\", \"trace\": \"\", \"attempt\": 1}","{\"at\": \"2026-11-29T04:28:13.862795667Z\", \"error\": \"Post \\\"http://127.0.0.1:9/upgrade/forward\\\": dial tcp 127.0.0.1:9: connect: connection refused\", \"trace\": \"\", \"attempt\": 2}","{\"at\": \"2026-11-29T04:28:16.014654937Z\", \"error\": \"Post \\\"http://127.0.0.1:9/upgrade/forward\\\": dial tcp 127.0.0.1:9: connect: connection refused\", \"trace\": \"\", \"attempt\": 3}","{\"at\": \"2026-11-29T04:28:20.224148023Z\", \"error\": \"Post \\\"http://127.0.0.1:9/upgrade/forward\\\": dial tcp 127.0.0.1:9: connect: connection refused\", \"trace\": \"\", \"attempt\": 4}"}', 'http_push', '{}', 'default', '{}', NULL, NULL);


--
-- Data for Name: river_leader; Type: TABLE DATA; Schema: joist_upgrade_fixture; Owner: -
--



--
-- Data for Name: river_migration; Type: TABLE DATA; Schema: joist_upgrade_fixture; Owner: -
--

INSERT INTO joist_upgrade_fixture.river_migration VALUES ('main', 1, '2026-11-29 04:28:09.168428+00');
INSERT INTO joist_upgrade_fixture.river_migration VALUES ('main', 2, '2026-11-29 04:28:09.220022+00');
INSERT INTO joist_upgrade_fixture.river_migration VALUES ('main', 3, '2026-11-29 04:28:09.316828+00');
INSERT INTO joist_upgrade_fixture.river_migration VALUES ('main', 4, '2026-11-29 04:28:09.332355+00');
INSERT INTO joist_upgrade_fixture.river_migration VALUES ('main', 5, '2026-11-29 04:28:09.347548+00');
INSERT INTO joist_upgrade_fixture.river_migration VALUES ('main', 6, '2026-11-29 04:28:09.545769+00');
INSERT INTO joist_upgrade_fixture.river_migration VALUES ('main', 7, '2026-11-29 04:28:09.558656+00');
INSERT INTO joist_upgrade_fixture.river_migration VALUES ('main', 8, '2026-11-29 04:28:09.594787+00');


--
-- Data for Name: river_notification; Type: TABLE DATA; Schema: joist_upgrade_fixture; Owner: -
--



--
-- Data for Name: river_queue; Type: TABLE DATA; Schema: joist_upgrade_fixture; Owner: -
--

INSERT INTO joist_upgrade_fixture.river_queue VALUES ('default', '2026-11-29 04:28:09.63795+00', '{}', NULL, '2026-11-29 04:28:09.63795+00');


--
-- Data for Name: schedule_runs; Type: TABLE DATA; Schema: joist_upgrade_fixture; Owner: -
--



--
-- Data for Name: schedules; Type: TABLE DATA; Schema: joist_upgrade_fixture; Owner: -
--

INSERT INTO joist_upgrade_fixture.schedules VALUES ('sch_01m8jrz0r4w6ncnynqm455sqx3', 'tn_01m8jryym21v8t3tz4q22x5s1c', 'daily-report', '0 9 * * 1-5', 'Europe/Paris', '{"url":"http://127.0.0.1:9/upgrade/schedule","body":{"report":"daily"}}', 'skip', false, 1, '2026-11-30 08:00:00+00', NULL, '', '', '2026-11-29 04:28:11.907858+00', '2026-11-29 04:28:11.907858+00');
INSERT INTO joist_upgrade_fixture.schedules VALUES ('sch_01m8jrz0t28j1gan1m6xy8d7m2', 'tn_01m8jryym21v8t3tz4q22x5s1c', 'weekly-digest', '@weekly', 'UTC', '{"url":"http://127.0.0.1:9/upgrade/schedule","method":"POST","body":{"digest":"weekly"},"max_attempts":3,"timeout":"10s"}', 'run_once', true, 1, '2026-12-06 00:00:00+00', NULL, '', '', '2026-11-29 04:28:11.970734+00', '2026-11-29 04:28:11.970734+00');


--
-- Data for Name: sessions; Type: TABLE DATA; Schema: joist_upgrade_fixture; Owner: -
--



--
-- Data for Name: signing_secrets; Type: TABLE DATA; Schema: joist_upgrade_fixture; Owner: -
--

INSERT INTO joist_upgrade_fixture.signing_secrets VALUES ('whs_01m8jrz09s1y4mb4d1brscrxyj', 'tn_01m8jryym21v8t3tz4q22x5s1c', 'v1:5xWhkP2Ea9shX6y/2mB4LcKMz3pN+KVUxGfRD3wVQ/brV51YLTM8Jo2W+A5aOQ2sJA+BWO6GGKx2O0xgltqcqP7qt6fPZCnB1/bbCyeI', '2026-11-29 04:28:11.449866+00', NULL);


--
-- Data for Name: subscription_changes; Type: TABLE DATA; Schema: joist_upgrade_fixture; Owner: -
--

INSERT INTO joist_upgrade_fixture.subscription_changes VALUES ('sbc_01m8jrz1e4we1x84893g36zys2', 'tn_01m8jryym21v8t3tz4q22x5s1c', 'bsub_01m8jrz1e2bjmtawr9sxpg2ef2', 'evt_01m8jrz1dce950yh2s3bxa1cj2', 'evt_UpgradeFixture0001', 'customer.subscription.created', '2026-01-01 00:00:00+00', '', 'active', '{"status": ["", "active"], "price_id": ["", "price_UpgradePro"], "quantity": [0, 3], "product_id": ["", "prod_UpgradePro"], "plan_nickname": ["", "Pro"], "latest_invoice": ["", "in_UpgradeFixture0001"], "current_period_end": [null, "2030-01-01T00:00:00Z"]}', 'cor_01m8jrz1db02djbartrdabmz38', '2026-11-29 04:28:12.612006+00');
INSERT INTO joist_upgrade_fixture.subscription_changes VALUES ('sbc_01m8jrz1gyrbt9gyjk23e313fb', 'tn_01m8jryym21v8t3tz4q22x5s1c', 'bsub_01m8jrz1e2bjmtawr9sxpg2ef2', 'evt_01m8jrz1gq3wyvmmxzxmkweeqd', 'evt_UpgradeFixture0002', 'invoice.paid', '2026-01-01 00:01:00+00', 'active', 'active', '{"payment_status": ["", "paid"]}', 'cor_01m8jrz1gq3wyvmmxzxhh7ygz2', '2026-11-29 04:28:12.70215+00');


--
-- Data for Name: subscriptions; Type: TABLE DATA; Schema: joist_upgrade_fixture; Owner: -
--

INSERT INTO joist_upgrade_fixture.subscriptions VALUES ('bsub_01m8jrz1e2bjmtawr9sxpg2ef2', 'tn_01m8jryym21v8t3tz4q22x5s1c', true, 'sub_UpgradeFixture0001', 'cus_UpgradeFixture0001', 'ct_01m8jryz1r6vs7f0m4r7nb7bsw', 'active', 'price_UpgradePro', 'prod_UpgradePro', 'Pro', 3, '2030-01-01 00:00:00+00', false, NULL, NULL, NULL, 'in_UpgradeFixture0001', 'paid', 'evt_UpgradeFixture0001', '2026-01-01 00:00:00+00', '2026-01-01 00:01:00+00', '2026-11-29 04:28:12.61072+00', '2026-11-29 04:28:12.70215+00', NULL);


--
-- Data for Name: tenants; Type: TABLE DATA; Schema: joist_upgrade_fixture; Owner: -
--

INSERT INTO joist_upgrade_fixture.tenants VALUES ('tn_00000000000000000000000000', '_', 'Instance', '2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00');
INSERT INTO joist_upgrade_fixture.tenants VALUES ('tn_01m8jryym21v8t3tz4q22x5s1c', 'acme', 'Acme Clinic', '2026-11-29 04:28:09.730651+00', '2026-11-29 04:28:09.730651+00');
INSERT INTO joist_upgrade_fixture.tenants VALUES ('tn_01m8jryyph89baadszxjdr2hmt', 'globex', 'Globex Corporation', '2026-11-29 04:28:09.809071+00', '2026-11-29 04:28:09.809071+00');


--
-- Data for Name: timeline; Type: TABLE DATA; Schema: joist_upgrade_fixture; Owner: -
--

INSERT INTO joist_upgrade_fixture.timeline VALUES ('tl_01m8jryz1s8xk84jdpj0few64y', 'tn_01m8jryym21v8t3tz4q22x5s1c', 'ct_01m8jryz1r6vs7f0m4r7nb7bsw', 'contact.created', 'Contact created', 'contact', 'ct_01m8jryz1r6vs7f0m4r7nb7bsw', 'cor_01m8jryz1p5m9r5dk8xf6gqhnw', '2026-11-29 04:28:10.167643+00');
INSERT INTO joist_upgrade_fixture.timeline VALUES ('tl_01m8jryz97d20an0m34965t224', 'tn_01m8jryym21v8t3tz4q22x5s1c', 'ct_01m8jryz96ygs97nhjvxpft63e', 'contact.created', 'Contact created', 'contact', 'ct_01m8jryz96ygs97nhjvxpft63e', 'cor_01m8jryz95j97ek6y10qwqae16', '2026-11-29 04:28:10.406593+00');
INSERT INTO joist_upgrade_fixture.timeline VALUES ('tl_01m8jryzec6q0z3w4n8wkwrmg8', 'tn_01m8jryyph89baadszxjdr2hmt', 'ct_01m8jryzec6q0z3w4n8va88tv3', 'contact.created', 'Contact created', 'contact', 'ct_01m8jryzec6q0z3w4n8va88tv3', 'cor_01m8jryze9s56djjg96v32tz3r', '2026-11-29 04:28:10.572427+00');
INSERT INTO joist_upgrade_fixture.timeline VALUES ('tl_01m8jrz15gdrx6xpj18drjs7qx', 'tn_01m8jryym21v8t3tz4q22x5s1c', 'ct_01m8jryz1r6vs7f0m4r7nb7bsw', 'webhook.received', 'standard_webhooks user.updated received', 'webhook_event', 'evt_01m8jrz15ev81rtqcwfj4a1ge9', 'fixture-standard-delivery', '2026-11-29 04:28:12.334813+00');
INSERT INTO joist_upgrade_fixture.timeline VALUES ('tl_01m8jrz1e5hmd2234fxae9th43', 'tn_01m8jryym21v8t3tz4q22x5s1c', 'ct_01m8jryz1r6vs7f0m4r7nb7bsw', 'billing.subscription_created', 'Subscription sub_UpgradeFixture0001 is active on Pro', 'subscription', 'sub_UpgradeFixture0001', 'cor_01m8jrz1db02djbartrdabmz38', '2026-11-29 04:28:12.613228+00');
INSERT INTO joist_upgrade_fixture.timeline VALUES ('tl_01m8jrz1gyrbt9gyjk268wkvzq', 'tn_01m8jryym21v8t3tz4q22x5s1c', 'ct_01m8jryz1r6vs7f0m4r7nb7bsw', 'billing.invoice_paid', 'Invoice in_UpgradeFixture0001 paid (subscription sub_UpgradeFixture0001)', 'subscription', 'sub_UpgradeFixture0001', 'cor_01m8jrz1gq3wyvmmxzxhh7ygz2', '2026-11-29 04:28:12.702598+00');


--
-- Data for Name: webhook_events; Type: TABLE DATA; Schema: joist_upgrade_fixture; Owner: -
--

INSERT INTO joist_upgrade_fixture.webhook_events VALUES ('evt_01m8jrz15ev81rtqcwfj4a1ge9', 'tn_01m8jryym21v8t3tz4q22x5s1c', 'src_01m8jrz0vakspak6mdcczcxmtz', 'msg_upgrade_fixture_0001', 'user.updated', 'application/json', '{"Accept": "*/*", "User-Agent": "curl/7.88.1", "Webhook-Id": "msg_upgrade_fixture_0001", "Content-Type": "application/json", "Webhook-Signature": "v1,g0oBeNY6XdEUkZJVB1k49tsFDU01CwAX8K83Shi3EE4=", "Webhook-Timestamp": "1795926492", "Joist-Correlation-Id": "fixture-standard-delivery"}', '\x7b2274797065223a22757365722e75706461746564222c2264617461223a7b22757365725f6964223a22757365725f3432222c22706c616e223a2270726f227d7d', 'standard_webhooks signature verified with secret #1', 'job_01m8jrz15ev81rtqcwfm0axnyg', 'fixture-standard-delivery', '2026-11-29 04:28:12.334813+00');
INSERT INTO joist_upgrade_fixture.webhook_events VALUES ('evt_01m8jrz1dce950yh2s3bxa1cj2', 'tn_01m8jryym21v8t3tz4q22x5s1c', 'src_01m8jrz0wknpnfxe0bd5mqwyja', 'evt_UpgradeFixture0001', 'customer.subscription.created', 'application/json', '{"Accept": "*/*", "User-Agent": "curl/7.88.1", "Content-Type": "application/json", "Stripe-Signature": "t=1795926492,v1=027cdb35ea5805d498c89f5316bc4f8390bdc721c686be404d11a1d40921ebd8"}', '\x7b226964223a226576745f557067726164654669787475726530303031222c226f626a656374223a226576656e74222c2274797065223a22637573746f6d65722e737562736372697074696f6e2e63726561746564222c2263726561746564223a313736373232353630302c226c6976656d6f6465223a747275652c226170695f76657273696f6e223a22323032352d30332d33312e626173696c222c2264617461223a7b226f626a656374223a7b226964223a227375625f557067726164654669787475726530303031222c226f626a656374223a22737562736372697074696f6e222c22637573746f6d6572223a226375735f557067726164654669787475726530303031222c22737461747573223a22616374697665222c2263616e63656c5f61745f706572696f645f656e64223a66616c73652c2263616e63656c5f6174223a6e756c6c2c2263616e63656c65645f6174223a6e756c6c2c22747269616c5f656e64223a6e756c6c2c226c61746573745f696e766f696365223a22696e5f557067726164654669787475726530303031222c226d65746164617461223a7b226a6f6973745f636f6e74616374223a22757365725f3432227d2c226974656d73223a7b226f626a656374223a226c697374222c2264617461223a5b7b226964223a2273695f557067726164654669787475726530303031222c2263757272656e745f706572696f645f656e64223a313839333435363030302c227175616e74697479223a332c227072696365223a7b226964223a2270726963655f5570677261646550726f222c226e69636b6e616d65223a2250726f222c2270726f64756374223a2270726f645f5570677261646550726f227d7d5d7d7d7d7d', 'stripe signature verified with secret #1', '', 'cor_01m8jrz1db02djbartrdabmz38', '2026-11-29 04:28:12.588558+00');
INSERT INTO joist_upgrade_fixture.webhook_events VALUES ('evt_01m8jrz1gq3wyvmmxzxmkweeqd', 'tn_01m8jryym21v8t3tz4q22x5s1c', 'src_01m8jrz0wknpnfxe0bd5mqwyja', 'evt_UpgradeFixture0002', 'invoice.paid', 'application/json', '{"Accept": "*/*", "User-Agent": "curl/7.88.1", "Content-Type": "application/json", "Stripe-Signature": "t=1795926492,v1=931938427bf3b9faf9ba8a1b9c7606d2f615988bf91ccfc02aa99725d8a77b9c"}', '\x7b226964223a226576745f557067726164654669787475726530303032222c226f626a656374223a226576656e74222c2274797065223a22696e766f6963652e70616964222c2263726561746564223a313736373232353636302c226c6976656d6f6465223a747275652c226170695f76657273696f6e223a22323032352d30332d33312e626173696c222c2264617461223a7b226f626a656374223a7b226964223a22696e5f557067726164654669787475726530303031222c226f626a656374223a22696e766f696365222c22637573746f6d6572223a226375735f557067726164654669787475726530303031222c22737461747573223a2270616964222c22616d6f756e745f70616964223a343530302c2263757272656e6379223a22657572222c22706172656e74223a7b22737562736372697074696f6e5f64657461696c73223a7b22737562736372697074696f6e223a227375625f557067726164654669787475726530303031222c226d65746164617461223a7b226a6f6973745f636f6e74616374223a22757365725f3432227d7d7d7d7d7d', 'stripe signature verified with secret #1', '', 'cor_01m8jrz1gq3wyvmmxzxhh7ygz2', '2026-11-29 04:28:12.695863+00');


--
-- Data for Name: webhook_rejections; Type: TABLE DATA; Schema: joist_upgrade_fixture; Owner: -
--



--
-- Data for Name: webhook_sources; Type: TABLE DATA; Schema: joist_upgrade_fixture; Owner: -
--

INSERT INTO joist_upgrade_fixture.webhook_sources VALUES ('src_01m8jrz0vakspak6mdcczcxmtz', 'tn_01m8jryym21v8t3tz4q22x5s1c', 'standard', 'standard_webhooks', '{"secrets":[{"sealed":"v1:fvEvJ5Cvm1QRwc5KZyZE9q/jfJyKk4NfeVDOUV3f2jDB+s5ca5YqDVniSwEFfr4qm8zZLRAKhle54fTdkhNx/IBHVU1XLo66omRkB+Xe","hint":"whsec_dX...E="}],"contact_pointer":"/data/user_id"}', 'http://127.0.0.1:9/upgrade/forward', '[]', '2026-11-29 04:28:12.010789+00', '2026-11-29 04:28:12.010789+00');
INSERT INTO joist_upgrade_fixture.webhook_sources VALUES ('src_01m8jrz0wknpnfxe0bd5mqwyja', 'tn_01m8jryym21v8t3tz4q22x5s1c', 'stripe', 'stripe', '{"secrets":[{"sealed":"v1:XWSZpW2DBKswoGnCRuMrdFVZdRIi5Hwkx87jKx+3e5XNoJkn3LC1L+GynGpyEKp78EtYH0oSuSveiXCvwhy44kbUSTY","hint":"whsec_up...23"}]}', '', '[]', '2026-11-29 04:28:12.051341+00', '2026-11-29 04:28:12.051341+00');
INSERT INTO joist_upgrade_fixture.webhook_sources VALUES ('src_01m8jrz12g2cabeg4cznefsx0v', 'tn_00000000000000000000000000', 'stripe', 'stripe', '{"secrets":[{"sealed":"v1:zA7yHnm2K3Fe6lLC7OA62/TV1/Y+duE2o8sIpeFwYejJgr8T8AZUno4O83TCZ8aNUGcCs4Ebnj0nzfO2vnEREDAEsRc","hint":"whsec_up...01"}]}', '', '[]', '2026-11-29 04:28:12.240974+00', '2026-11-29 04:28:12.240974+00');


--
-- Name: river_job_id_seq; Type: SEQUENCE SET; Schema: joist_upgrade_fixture; Owner: -
--

SELECT pg_catalog.setval('joist_upgrade_fixture.river_job_id_seq', 8, true);


--
-- Name: river_notification_id_seq; Type: SEQUENCE SET; Schema: joist_upgrade_fixture; Owner: -
--

SELECT pg_catalog.setval('joist_upgrade_fixture.river_notification_id_seq', 1, false);


--
-- Name: api_keys api_keys_hash_key; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.api_keys
    ADD CONSTRAINT api_keys_hash_key UNIQUE (hash);


--
-- Name: api_keys api_keys_pkey; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.api_keys
    ADD CONSTRAINT api_keys_pkey PRIMARY KEY (id);


--
-- Name: audit_log audit_log_pkey; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.audit_log
    ADD CONSTRAINT audit_log_pkey PRIMARY KEY (id);


--
-- Name: billing_customers billing_customers_pkey; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.billing_customers
    ADD CONSTRAINT billing_customers_pkey PRIMARY KEY (tenant_id, stripe_customer);


--
-- Name: billing_routes billing_routes_pkey; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.billing_routes
    ADD CONSTRAINT billing_routes_pkey PRIMARY KEY (tenant_id, stripe_customer);


--
-- Name: contacts contacts_pkey; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.contacts
    ADD CONSTRAINT contacts_pkey PRIMARY KEY (id);


--
-- Name: contacts contacts_tenant_id_external_id_key; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.contacts
    ADD CONSTRAINT contacts_tenant_id_external_id_key UNIQUE (tenant_id, external_id);


--
-- Name: idempotency_keys idempotency_keys_pkey; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.idempotency_keys
    ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (tenant_id, route, key);


--
-- Name: instance_settings instance_settings_pkey; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.instance_settings
    ADD CONSTRAINT instance_settings_pkey PRIMARY KEY (key);


--
-- Name: job_attempts job_attempts_pkey; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.job_attempts
    ADD CONSTRAINT job_attempts_pkey PRIMARY KEY (job_id, attempt, started_at);


--
-- Name: jobs jobs_pkey; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.jobs
    ADD CONSTRAINT jobs_pkey PRIMARY KEY (id);


--
-- Name: jobs jobs_river_id_key; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.jobs
    ADD CONSTRAINT jobs_river_id_key UNIQUE (river_id);


--
-- Name: joist_migrations joist_migrations_pkey; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.joist_migrations
    ADD CONSTRAINT joist_migrations_pkey PRIMARY KEY (version);


--
-- Name: operator_invites operator_invites_pkey; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.operator_invites
    ADD CONSTRAINT operator_invites_pkey PRIMARY KEY (token_hash);


--
-- Name: operator_tenants operator_tenants_pkey; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.operator_tenants
    ADD CONSTRAINT operator_tenants_pkey PRIMARY KEY (operator_id, tenant_id);


--
-- Name: operators operators_email_key; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.operators
    ADD CONSTRAINT operators_email_key UNIQUE (email);


--
-- Name: operators operators_pkey; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.operators
    ADD CONSTRAINT operators_pkey PRIMARY KEY (id);


--
-- Name: river_job river_job_pkey; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.river_job
    ADD CONSTRAINT river_job_pkey PRIMARY KEY (id);


--
-- Name: river_leader river_leader_pkey; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.river_leader
    ADD CONSTRAINT river_leader_pkey PRIMARY KEY (name);


--
-- Name: river_migration river_migration_pkey1; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.river_migration
    ADD CONSTRAINT river_migration_pkey1 PRIMARY KEY (line, version);


--
-- Name: river_notification river_notification_pkey; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.river_notification
    ADD CONSTRAINT river_notification_pkey PRIMARY KEY (id);


--
-- Name: river_queue river_queue_pkey; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.river_queue
    ADD CONSTRAINT river_queue_pkey PRIMARY KEY (name);


--
-- Name: schedule_runs schedule_runs_pkey; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.schedule_runs
    ADD CONSTRAINT schedule_runs_pkey PRIMARY KEY (schedule_id, slot);


--
-- Name: schedules schedules_pkey; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.schedules
    ADD CONSTRAINT schedules_pkey PRIMARY KEY (id);


--
-- Name: schedules schedules_tenant_id_name_key; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.schedules
    ADD CONSTRAINT schedules_tenant_id_name_key UNIQUE (tenant_id, name);


--
-- Name: sessions sessions_pkey; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.sessions
    ADD CONSTRAINT sessions_pkey PRIMARY KEY (id_hash);


--
-- Name: signing_secrets signing_secrets_pkey; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.signing_secrets
    ADD CONSTRAINT signing_secrets_pkey PRIMARY KEY (id);


--
-- Name: subscription_changes subscription_changes_pkey; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.subscription_changes
    ADD CONSTRAINT subscription_changes_pkey PRIMARY KEY (id);


--
-- Name: subscriptions subscriptions_pkey; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.subscriptions
    ADD CONSTRAINT subscriptions_pkey PRIMARY KEY (id);


--
-- Name: subscriptions subscriptions_tenant_id_livemode_stripe_subscription_key; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.subscriptions
    ADD CONSTRAINT subscriptions_tenant_id_livemode_stripe_subscription_key UNIQUE (tenant_id, livemode, stripe_subscription);


--
-- Name: tenants tenants_pkey; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.tenants
    ADD CONSTRAINT tenants_pkey PRIMARY KEY (id);


--
-- Name: tenants tenants_slug_key; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.tenants
    ADD CONSTRAINT tenants_slug_key UNIQUE (slug);


--
-- Name: timeline timeline_pkey; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.timeline
    ADD CONSTRAINT timeline_pkey PRIMARY KEY (id);


--
-- Name: webhook_events webhook_events_pkey; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.webhook_events
    ADD CONSTRAINT webhook_events_pkey PRIMARY KEY (id);


--
-- Name: webhook_events webhook_events_source_id_provider_event_id_key; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.webhook_events
    ADD CONSTRAINT webhook_events_source_id_provider_event_id_key UNIQUE (source_id, provider_event_id);


--
-- Name: webhook_rejections webhook_rejections_pkey; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.webhook_rejections
    ADD CONSTRAINT webhook_rejections_pkey PRIMARY KEY (id);


--
-- Name: webhook_sources webhook_sources_pkey; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.webhook_sources
    ADD CONSTRAINT webhook_sources_pkey PRIMARY KEY (id);


--
-- Name: webhook_sources webhook_sources_tenant_id_name_key; Type: CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.webhook_sources
    ADD CONSTRAINT webhook_sources_tenant_id_name_key UNIQUE (tenant_id, name);


--
-- Name: api_keys_tenant; Type: INDEX; Schema: joist_upgrade_fixture; Owner: -
--

CREATE INDEX api_keys_tenant ON joist_upgrade_fixture.api_keys USING btree (tenant_id, id);


--
-- Name: audit_log_tenant; Type: INDEX; Schema: joist_upgrade_fixture; Owner: -
--

CREATE INDEX audit_log_tenant ON joist_upgrade_fixture.audit_log USING btree (tenant_id, id);


--
-- Name: billing_routes_target; Type: INDEX; Schema: joist_upgrade_fixture; Owner: -
--

CREATE INDEX billing_routes_target ON joist_upgrade_fixture.billing_routes USING btree (route_tenant_id);


--
-- Name: contacts_tenant_email; Type: INDEX; Schema: joist_upgrade_fixture; Owner: -
--

CREATE INDEX contacts_tenant_email ON joist_upgrade_fixture.contacts USING btree (tenant_id, email);


--
-- Name: contacts_tenant_id; Type: INDEX; Schema: joist_upgrade_fixture; Owner: -
--

CREATE INDEX contacts_tenant_id ON joist_upgrade_fixture.contacts USING btree (tenant_id, id);


--
-- Name: idempotency_keys_expires; Type: INDEX; Schema: joist_upgrade_fixture; Owner: -
--

CREATE INDEX idempotency_keys_expires ON joist_upgrade_fixture.idempotency_keys USING btree (expires_at);


--
-- Name: jobs_tenant; Type: INDEX; Schema: joist_upgrade_fixture; Owner: -
--

CREATE INDEX jobs_tenant ON joist_upgrade_fixture.jobs USING btree (tenant_id, id);


--
-- Name: river_job_args_index; Type: INDEX; Schema: joist_upgrade_fixture; Owner: -
--

CREATE INDEX river_job_args_index ON joist_upgrade_fixture.river_job USING gin (args) WITH (gin_pending_list_limit='64');


--
-- Name: river_job_kind; Type: INDEX; Schema: joist_upgrade_fixture; Owner: -
--

CREATE INDEX river_job_kind ON joist_upgrade_fixture.river_job USING btree (kind);


--
-- Name: river_job_metadata_index; Type: INDEX; Schema: joist_upgrade_fixture; Owner: -
--

CREATE INDEX river_job_metadata_index ON joist_upgrade_fixture.river_job USING gin (metadata) WITH (gin_pending_list_limit='64');


--
-- Name: river_job_prioritized_fetching_index; Type: INDEX; Schema: joist_upgrade_fixture; Owner: -
--

CREATE INDEX river_job_prioritized_fetching_index ON joist_upgrade_fixture.river_job USING btree (state, queue, priority, scheduled_at, id);


--
-- Name: river_job_state_and_finalized_at_index; Type: INDEX; Schema: joist_upgrade_fixture; Owner: -
--

CREATE INDEX river_job_state_and_finalized_at_index ON joist_upgrade_fixture.river_job USING btree (state, finalized_at) WHERE (finalized_at IS NOT NULL);


--
-- Name: river_job_unique_idx; Type: INDEX; Schema: joist_upgrade_fixture; Owner: -
--

CREATE UNIQUE INDEX river_job_unique_idx ON joist_upgrade_fixture.river_job USING btree (unique_key) WHERE ((unique_key IS NOT NULL) AND (unique_states IS NOT NULL) AND joist_upgrade_fixture.river_job_state_in_bitmask(unique_states, state));


--
-- Name: river_notification_created_at_idx; Type: INDEX; Schema: joist_upgrade_fixture; Owner: -
--

CREATE INDEX river_notification_created_at_idx ON joist_upgrade_fixture.river_notification USING btree (created_at);


--
-- Name: river_notification_topic_id_idx; Type: INDEX; Schema: joist_upgrade_fixture; Owner: -
--

CREATE INDEX river_notification_topic_id_idx ON joist_upgrade_fixture.river_notification USING btree (topic, id);


--
-- Name: schedule_runs_slot; Type: INDEX; Schema: joist_upgrade_fixture; Owner: -
--

CREATE INDEX schedule_runs_slot ON joist_upgrade_fixture.schedule_runs USING btree (slot);


--
-- Name: schedules_due; Type: INDEX; Schema: joist_upgrade_fixture; Owner: -
--

CREATE INDEX schedules_due ON joist_upgrade_fixture.schedules USING btree (next_run_at) WHERE (paused = false);


--
-- Name: sessions_operator; Type: INDEX; Schema: joist_upgrade_fixture; Owner: -
--

CREATE INDEX sessions_operator ON joist_upgrade_fixture.sessions USING btree (operator_id);


--
-- Name: signing_secrets_tenant; Type: INDEX; Schema: joist_upgrade_fixture; Owner: -
--

CREATE INDEX signing_secrets_tenant ON joist_upgrade_fixture.signing_secrets USING btree (tenant_id, id);


--
-- Name: subscription_changes_sub; Type: INDEX; Schema: joist_upgrade_fixture; Owner: -
--

CREATE INDEX subscription_changes_sub ON joist_upgrade_fixture.subscription_changes USING btree (subscription_id, id);


--
-- Name: subscriptions_customer; Type: INDEX; Schema: joist_upgrade_fixture; Owner: -
--

CREATE INDEX subscriptions_customer ON joist_upgrade_fixture.subscriptions USING btree (tenant_id, stripe_customer);


--
-- Name: subscriptions_tenant; Type: INDEX; Schema: joist_upgrade_fixture; Owner: -
--

CREATE INDEX subscriptions_tenant ON joist_upgrade_fixture.subscriptions USING btree (tenant_id, id);


--
-- Name: timeline_contact; Type: INDEX; Schema: joist_upgrade_fixture; Owner: -
--

CREATE INDEX timeline_contact ON joist_upgrade_fixture.timeline USING btree (tenant_id, contact_id, id);


--
-- Name: webhook_events_tenant; Type: INDEX; Schema: joist_upgrade_fixture; Owner: -
--

CREATE INDEX webhook_events_tenant ON joist_upgrade_fixture.webhook_events USING btree (tenant_id, id);


--
-- Name: webhook_rejections_source; Type: INDEX; Schema: joist_upgrade_fixture; Owner: -
--

CREATE INDEX webhook_rejections_source ON joist_upgrade_fixture.webhook_rejections USING btree (source_id, id);


--
-- Name: audit_log audit_log_no_change; Type: TRIGGER; Schema: joist_upgrade_fixture; Owner: -
--

CREATE TRIGGER audit_log_no_change BEFORE DELETE OR UPDATE ON joist_upgrade_fixture.audit_log FOR EACH ROW EXECUTE FUNCTION joist_upgrade_fixture.audit_log_append_only();


--
-- Name: api_keys api_keys_tenant_id_fkey; Type: FK CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.api_keys
    ADD CONSTRAINT api_keys_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES joist_upgrade_fixture.tenants(id);


--
-- Name: billing_customers billing_customers_tenant_id_fkey; Type: FK CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.billing_customers
    ADD CONSTRAINT billing_customers_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES joist_upgrade_fixture.tenants(id);


--
-- Name: billing_routes billing_routes_route_tenant_id_fkey; Type: FK CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.billing_routes
    ADD CONSTRAINT billing_routes_route_tenant_id_fkey FOREIGN KEY (route_tenant_id) REFERENCES joist_upgrade_fixture.tenants(id);


--
-- Name: billing_routes billing_routes_tenant_id_fkey; Type: FK CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.billing_routes
    ADD CONSTRAINT billing_routes_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES joist_upgrade_fixture.tenants(id);


--
-- Name: contacts contacts_tenant_id_fkey; Type: FK CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.contacts
    ADD CONSTRAINT contacts_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES joist_upgrade_fixture.tenants(id);


--
-- Name: job_attempts job_attempts_job_id_fkey; Type: FK CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.job_attempts
    ADD CONSTRAINT job_attempts_job_id_fkey FOREIGN KEY (job_id) REFERENCES joist_upgrade_fixture.jobs(id) ON DELETE CASCADE;


--
-- Name: jobs jobs_tenant_id_fkey; Type: FK CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.jobs
    ADD CONSTRAINT jobs_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES joist_upgrade_fixture.tenants(id);


--
-- Name: operator_invites operator_invites_operator_id_fkey; Type: FK CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.operator_invites
    ADD CONSTRAINT operator_invites_operator_id_fkey FOREIGN KEY (operator_id) REFERENCES joist_upgrade_fixture.operators(id) ON DELETE CASCADE;


--
-- Name: operator_tenants operator_tenants_operator_id_fkey; Type: FK CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.operator_tenants
    ADD CONSTRAINT operator_tenants_operator_id_fkey FOREIGN KEY (operator_id) REFERENCES joist_upgrade_fixture.operators(id) ON DELETE CASCADE;


--
-- Name: operator_tenants operator_tenants_tenant_id_fkey; Type: FK CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.operator_tenants
    ADD CONSTRAINT operator_tenants_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES joist_upgrade_fixture.tenants(id);


--
-- Name: schedule_runs schedule_runs_schedule_id_fkey; Type: FK CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.schedule_runs
    ADD CONSTRAINT schedule_runs_schedule_id_fkey FOREIGN KEY (schedule_id) REFERENCES joist_upgrade_fixture.schedules(id) ON DELETE CASCADE;


--
-- Name: schedules schedules_tenant_id_fkey; Type: FK CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.schedules
    ADD CONSTRAINT schedules_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES joist_upgrade_fixture.tenants(id);


--
-- Name: sessions sessions_operator_id_fkey; Type: FK CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.sessions
    ADD CONSTRAINT sessions_operator_id_fkey FOREIGN KEY (operator_id) REFERENCES joist_upgrade_fixture.operators(id) ON DELETE CASCADE;


--
-- Name: subscription_changes subscription_changes_subscription_id_fkey; Type: FK CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.subscription_changes
    ADD CONSTRAINT subscription_changes_subscription_id_fkey FOREIGN KEY (subscription_id) REFERENCES joist_upgrade_fixture.subscriptions(id) ON DELETE CASCADE;


--
-- Name: subscription_changes subscription_changes_tenant_id_fkey; Type: FK CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.subscription_changes
    ADD CONSTRAINT subscription_changes_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES joist_upgrade_fixture.tenants(id);


--
-- Name: subscriptions subscriptions_tenant_id_fkey; Type: FK CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.subscriptions
    ADD CONSTRAINT subscriptions_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES joist_upgrade_fixture.tenants(id);


--
-- Name: timeline timeline_contact_id_fkey; Type: FK CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.timeline
    ADD CONSTRAINT timeline_contact_id_fkey FOREIGN KEY (contact_id) REFERENCES joist_upgrade_fixture.contacts(id);


--
-- Name: timeline timeline_tenant_id_fkey; Type: FK CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.timeline
    ADD CONSTRAINT timeline_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES joist_upgrade_fixture.tenants(id);


--
-- Name: webhook_events webhook_events_source_id_fkey; Type: FK CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.webhook_events
    ADD CONSTRAINT webhook_events_source_id_fkey FOREIGN KEY (source_id) REFERENCES joist_upgrade_fixture.webhook_sources(id) ON DELETE CASCADE;


--
-- Name: webhook_events webhook_events_tenant_id_fkey; Type: FK CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.webhook_events
    ADD CONSTRAINT webhook_events_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES joist_upgrade_fixture.tenants(id);


--
-- Name: webhook_rejections webhook_rejections_source_id_fkey; Type: FK CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.webhook_rejections
    ADD CONSTRAINT webhook_rejections_source_id_fkey FOREIGN KEY (source_id) REFERENCES joist_upgrade_fixture.webhook_sources(id) ON DELETE CASCADE;


--
-- Name: webhook_sources webhook_sources_tenant_id_fkey; Type: FK CONSTRAINT; Schema: joist_upgrade_fixture; Owner: -
--

ALTER TABLE ONLY joist_upgrade_fixture.webhook_sources
    ADD CONSTRAINT webhook_sources_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES joist_upgrade_fixture.tenants(id);


--
-- PostgreSQL database dump complete
--


