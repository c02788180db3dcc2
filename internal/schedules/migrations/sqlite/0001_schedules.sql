-- Durable cron schedules. next_run_at is the earliest slot not yet handled;
-- every node's scheduler claims due slots through schedule_runs' primary key
-- (schedule_id, slot) and a compare-and-set on (version, next_run_at), so a
-- slot is enqueued once however many nodes run.
CREATE TABLE schedules (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    cron        TEXT NOT NULL,
    timezone    TEXT NOT NULL,
    job         TEXT NOT NULL,
    missed      TEXT NOT NULL,
    paused      INTEGER NOT NULL DEFAULT 0,
    version     INTEGER NOT NULL DEFAULT 1,
    next_run_at TEXT NOT NULL,
    last_run_at TEXT,
    last_job_id TEXT NOT NULL DEFAULT '',
    last_error  TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (tenant_id, name)
);
CREATE INDEX schedules_due ON schedules (next_run_at) WHERE paused = false;

-- One row per slot enqueued (or caught up): the once-per-slot key.
CREATE TABLE schedule_runs (
    schedule_id TEXT NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
    tenant_id   TEXT NOT NULL,
    slot        TEXT NOT NULL,
    catch_up    INTEGER NOT NULL DEFAULT 0,
    job_id      TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT '',
    node        TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    PRIMARY KEY (schedule_id, slot)
);
CREATE INDEX schedule_runs_slot ON schedule_runs (slot);
