package schedules

import (
	"context"
	"encoding/json"
	"time"

	"github.com/joist-dev/joist/internal/store"
)

// The schedules system's SQL. Tenant-scoped queries are methods of scope,
// which only a *store.Scope makes, and constrain on its tenant; the
// scheduler's queries across tenants (due schedules, purging runs) take a
// *store.Tx.

// record is a durable cron schedule of a tenant, as stored.
type record struct {
	ID       string
	TenantID string
	Name     string
	Cron     string
	Timezone string
	// Job is the HTTP-push job template, as JSON.
	Job    json.RawMessage
	Missed string // skip or run_once
	Paused bool
	// Version changes with every change a person makes; the scheduler's
	// compare-and-set checks it with NextRunAt.
	Version int64
	// NextRunAt is the earliest slot not yet handled.
	NextRunAt time.Time
	LastRunAt *time.Time
	LastJobID string
	LastError string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Run is one slot claimed by a scheduler: the once-per-slot key.
type Run struct {
	ScheduleID string
	TenantID   string
	Slot       time.Time
	CatchUp    bool // the one run of a missed period (policy run_once)
	JobID      string
	Error      string
	Node       string
	CreatedAt  time.Time
}

const scheduleCols = `id, tenant_id, name, cron, timezone, job, missed, paused, version, next_run_at, last_run_at, last_job_id,
	last_error, created_at, updated_at`

func scanSchedule(r store.Row) (record, error) {
	var s record
	var job string
	err := r.Scan(&s.ID, &s.TenantID, &s.Name, &s.Cron, &s.Timezone, &job, &s.Missed, &s.Paused, &s.Version, &s.NextRunAt,
		&s.LastRunAt, &s.LastJobID, &s.LastError, &s.CreatedAt, &s.UpdatedAt)
	s.Job = json.RawMessage(job)
	return s, err
}

// scope is the schedules tables confined to one tenant: every method
// constrains on the Scope's tenant.
type scope struct{ s *store.Scope }

// scheduleGet finds a schedule of the tenant by name.
func (q scope) scheduleGet(ctx context.Context, name string) (record, error) {
	return scanSchedule(q.s.Tx().QueryRow(ctx, "SELECT "+scheduleCols+" FROM schedules WHERE tenant_id = ? AND name = ?", q.s.TenantID(), name))
}

// scheduleInsert stores a new schedule.
func (q scope) scheduleInsert(ctx context.Context, sc record) error {
	_, err := q.s.Tx().Exec(ctx, "INSERT INTO schedules ("+scheduleCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		sc.ID, q.s.TenantID(), sc.Name, sc.Cron, sc.Timezone, string(sc.Job), sc.Missed, sc.Paused, sc.Version, sc.NextRunAt,
		sc.LastRunAt, sc.LastJobID, sc.LastError, sc.CreatedAt, sc.UpdatedAt)
	return err
}

// scheduleUpdate replaces what a person may change (cron, timezone, job,
// missed, paused, next_run_at) and bumps the version, so a scheduler that
// read the old row loses its compare-and-set.
func (q scope) scheduleUpdate(ctx context.Context, sc record) error {
	n, err := q.s.Tx().Exec(ctx, `UPDATE schedules SET cron = ?, timezone = ?, job = ?, missed = ?, paused = ?, next_run_at = ?,
		version = version + 1, updated_at = ? WHERE tenant_id = ? AND id = ?`,
		sc.Cron, sc.Timezone, string(sc.Job), sc.Missed, sc.Paused, sc.NextRunAt, sc.UpdatedAt, q.s.TenantID(), sc.ID)
	if err == nil && n == 0 {
		return store.ErrNotFound
	}
	return err
}

// scheduleDelete deletes a schedule and its runs.
func (q scope) scheduleDelete(ctx context.Context, id string) error {
	n, err := q.s.Tx().Exec(ctx, "DELETE FROM schedules WHERE tenant_id = ? AND id = ?", q.s.TenantID(), id)
	if err == nil && n == 0 {
		return store.ErrNotFound
	}
	return err
}

// scheduleList lists the tenant's schedules by name.
func (q scope) scheduleList(ctx context.Context, p store.Page) ([]record, string, error) {
	after, err := p.After()
	if err != nil {
		return nil, "", err
	}
	rows, err := q.s.Tx().Query(ctx, "SELECT "+scheduleCols+" FROM schedules WHERE tenant_id = ? AND name > ? ORDER BY name LIMIT ?",
		q.s.TenantID(), after, p.Size()+1)
	items, err := store.Collect(rows, err, func(r store.Rows) (record, error) { return scanSchedule(r) })
	if err != nil {
		return nil, "", err
	}
	items, next := store.PageOf(items, p, func(sc record) string { return sc.Name })
	return items, next, nil
}

// scheduleAdvance is the scheduler's compare-and-set: it moves next_run_at
// from the value it read to next, only if nobody changed the schedule or
// handled that slot since (same version, same next_run_at, not paused). It
// reports whether this caller won. On PostgreSQL the row lock it takes makes
// a second node wait and then see the new next_run_at.
func (q scope) scheduleAdvance(ctx context.Context, id string, version int64, from, next time.Time) (bool, error) {
	n, err := q.s.Tx().Exec(ctx, `UPDATE schedules SET next_run_at = ? WHERE tenant_id = ? AND id = ? AND version = ? AND next_run_at = ?
		AND paused = false`, next, q.s.TenantID(), id, version, from)
	return n == 1, err
}

// scheduleSetLast records the latest run on the schedule.
func (q scope) scheduleSetLast(ctx context.Context, id string, slot time.Time, jobID, errMsg string) error {
	_, err := q.s.Tx().Exec(ctx, "UPDATE schedules SET last_run_at = ?, last_job_id = ?, last_error = ? WHERE tenant_id = ? AND id = ?",
		slot, jobID, errMsg, q.s.TenantID(), id)
	return err
}

// scheduleRunClaim inserts the (schedule, slot) key. It returns false, with
// no error and the transaction still usable, when the slot is already
// claimed: another node enqueued it.
func (q scope) scheduleRunClaim(ctx context.Context, r Run) (bool, error) {
	n, err := q.s.Tx().Exec(ctx, `INSERT INTO schedule_runs (schedule_id, tenant_id, slot, catch_up, job_id, error, node, created_at)
		SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM schedules WHERE tenant_id = ? AND id = ?)
		ON CONFLICT (schedule_id, slot) DO NOTHING`,
		r.ScheduleID, q.s.TenantID(), r.Slot, r.CatchUp, r.JobID, r.Error, r.Node, r.CreatedAt, q.s.TenantID(), r.ScheduleID)
	return n == 1, err
}

// scheduleRunFinish records the job (or the error) of a claimed slot.
func (q scope) scheduleRunFinish(ctx context.Context, scheduleID string, slot time.Time, jobID, errMsg string) error {
	_, err := q.s.Tx().Exec(ctx, "UPDATE schedule_runs SET job_id = ?, error = ? WHERE tenant_id = ? AND schedule_id = ? AND slot = ?",
		jobID, errMsg, q.s.TenantID(), scheduleID, slot)
	return err
}

// scheduleRuns lists a schedule's runs, newest slot first.
func (q scope) scheduleRuns(ctx context.Context, scheduleID string, limit int) ([]Run, error) {
	rows, err := q.s.Tx().Query(ctx, `SELECT schedule_id, tenant_id, slot, catch_up, job_id, error, node, created_at FROM schedule_runs
		WHERE tenant_id = ? AND schedule_id = ? ORDER BY slot DESC LIMIT ?`, q.s.TenantID(), scheduleID, limit)
	return store.Collect(rows, err, func(r store.Rows) (Run, error) {
		var x Run
		err := r.Scan(&x.ScheduleID, &x.TenantID, &x.Slot, &x.CatchUp, &x.JobID, &x.Error, &x.Node, &x.CreatedAt)
		return x, err
	})
}

// schedulesDue lists every tenant's unpaused schedules whose next slot is at
// or before now, oldest first (for the scheduler, which works across tenants).
func schedulesDue(ctx context.Context, tx *store.Tx, now time.Time, limit int) ([]record, error) {
	rows, err := tx.Query(ctx, "SELECT "+scheduleCols+" FROM schedules WHERE paused = false AND next_run_at <= ? ORDER BY next_run_at LIMIT ?",
		now, limit)
	return store.Collect(rows, err, func(r store.Rows) (record, error) { return scanSchedule(r) })
}

// scheduleRunsPurge deletes runs whose slot is older than before, and trims
// every schedule to its newest keep runs. The once-per-slot key only has to
// outlive the moment two nodes can look at the same slot; the rest is history.
func scheduleRunsPurge(ctx context.Context, tx *store.Tx, before time.Time, keep int) (int64, error) {
	n, err := tx.Exec(ctx, "DELETE FROM schedule_runs WHERE slot < ?", before)
	if err != nil {
		return n, err
	}
	rows, err := tx.Query(ctx, "SELECT schedule_id FROM schedule_runs GROUP BY schedule_id HAVING count(*) > ?", keep)
	ids, err := store.Collect(rows, err, func(r store.Rows) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return n, err
	}
	for _, id := range ids {
		m, err := tx.Exec(ctx, `DELETE FROM schedule_runs WHERE schedule_id = ? AND slot < (SELECT slot FROM schedule_runs
			WHERE schedule_id = ? ORDER BY slot DESC LIMIT 1 OFFSET ?)`, id, id, keep-1)
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
