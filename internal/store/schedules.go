package store

import (
	"context"
	"encoding/json"
	"time"
)

// Schedule is a durable cron schedule of a tenant.
type Schedule struct {
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

// ScheduleRun is one slot claimed by a scheduler: the once-per-slot key.
type ScheduleRun struct {
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

func scanSchedule(r Row) (Schedule, error) {
	var s Schedule
	var job string
	err := r.Scan(&s.ID, &s.TenantID, &s.Name, &s.Cron, &s.Timezone, &job, &s.Missed, &s.Paused, &s.Version, &s.NextRunAt,
		&s.LastRunAt, &s.LastJobID, &s.LastError, &s.CreatedAt, &s.UpdatedAt)
	s.Job = json.RawMessage(job)
	return s, err
}

// ScheduleGet finds a schedule of the tenant by name.
func (s *Scope) ScheduleGet(ctx context.Context, name string) (Schedule, error) {
	return scanSchedule(s.tx.QueryRow(ctx, "SELECT "+scheduleCols+" FROM schedules WHERE tenant_id = ? AND name = ?", s.tenantID, name))
}

// ScheduleInsert stores a new schedule.
func (s *Scope) ScheduleInsert(ctx context.Context, sc Schedule) error {
	_, err := s.tx.Exec(ctx, "INSERT INTO schedules ("+scheduleCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		sc.ID, s.tenantID, sc.Name, sc.Cron, sc.Timezone, string(sc.Job), sc.Missed, sc.Paused, sc.Version, sc.NextRunAt,
		sc.LastRunAt, sc.LastJobID, sc.LastError, sc.CreatedAt, sc.UpdatedAt)
	return err
}

// ScheduleUpdate replaces what a person may change (cron, timezone, job,
// missed, paused, next_run_at) and bumps the version, so a scheduler that
// read the old row loses its compare-and-set.
func (s *Scope) ScheduleUpdate(ctx context.Context, sc Schedule) error {
	n, err := s.tx.Exec(ctx, `UPDATE schedules SET cron = ?, timezone = ?, job = ?, missed = ?, paused = ?, next_run_at = ?,
		version = version + 1, updated_at = ? WHERE tenant_id = ? AND id = ?`,
		sc.Cron, sc.Timezone, string(sc.Job), sc.Missed, sc.Paused, sc.NextRunAt, sc.UpdatedAt, s.tenantID, sc.ID)
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

// ScheduleDelete deletes a schedule and its runs.
func (s *Scope) ScheduleDelete(ctx context.Context, id string) error {
	n, err := s.tx.Exec(ctx, "DELETE FROM schedules WHERE tenant_id = ? AND id = ?", s.tenantID, id)
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

// ScheduleList lists the tenant's schedules by name.
func (s *Scope) ScheduleList(ctx context.Context, p Page) ([]Schedule, string, error) {
	after, err := p.After()
	if err != nil {
		return nil, "", err
	}
	rows, err := s.tx.Query(ctx, "SELECT "+scheduleCols+" FROM schedules WHERE tenant_id = ? AND name > ? ORDER BY name LIMIT ?",
		s.tenantID, after, p.Size()+1)
	items, err := Collect(rows, err, func(r Rows) (Schedule, error) { return scanSchedule(r) })
	if err != nil {
		return nil, "", err
	}
	items, next := PageOf(items, p.Size(), func(sc Schedule) string { return sc.Name })
	return items, next, nil
}

// ScheduleAdvance is the scheduler's compare-and-set: it moves next_run_at
// from the value it read to next, only if nobody changed the schedule or
// handled that slot since (same version, same next_run_at, not paused). It
// reports whether this caller won. On PostgreSQL the row lock it takes makes
// a second node wait and then see the new next_run_at.
func (s *Scope) ScheduleAdvance(ctx context.Context, id string, version int64, from, next time.Time) (bool, error) {
	n, err := s.tx.Exec(ctx, `UPDATE schedules SET next_run_at = ? WHERE tenant_id = ? AND id = ? AND version = ? AND next_run_at = ?
		AND paused = false`, next, s.tenantID, id, version, from)
	return n == 1, err
}

// ScheduleSetLast records the latest run on the schedule.
func (s *Scope) ScheduleSetLast(ctx context.Context, id string, slot time.Time, jobID, errMsg string) error {
	_, err := s.tx.Exec(ctx, "UPDATE schedules SET last_run_at = ?, last_job_id = ?, last_error = ? WHERE tenant_id = ? AND id = ?",
		slot, jobID, errMsg, s.tenantID, id)
	return err
}

// ScheduleRunClaim inserts the (schedule, slot) key. It returns false, with
// no error and the transaction still usable, when the slot is already
// claimed: another node enqueued it.
func (s *Scope) ScheduleRunClaim(ctx context.Context, r ScheduleRun) (bool, error) {
	n, err := s.tx.Exec(ctx, `INSERT INTO schedule_runs (schedule_id, tenant_id, slot, catch_up, job_id, error, node, created_at)
		SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM schedules WHERE tenant_id = ? AND id = ?)
		ON CONFLICT (schedule_id, slot) DO NOTHING`,
		r.ScheduleID, s.tenantID, r.Slot, r.CatchUp, r.JobID, r.Error, r.Node, r.CreatedAt, s.tenantID, r.ScheduleID)
	return n == 1, err
}

// ScheduleRunFinish records the job (or the error) of a claimed slot.
func (s *Scope) ScheduleRunFinish(ctx context.Context, scheduleID string, slot time.Time, jobID, errMsg string) error {
	_, err := s.tx.Exec(ctx, "UPDATE schedule_runs SET job_id = ?, error = ? WHERE tenant_id = ? AND schedule_id = ? AND slot = ?",
		jobID, errMsg, s.tenantID, scheduleID, slot)
	return err
}

// ScheduleRuns lists a schedule's runs, newest slot first.
func (s *Scope) ScheduleRuns(ctx context.Context, scheduleID string, limit int) ([]ScheduleRun, error) {
	rows, err := s.tx.Query(ctx, `SELECT schedule_id, tenant_id, slot, catch_up, job_id, error, node, created_at FROM schedule_runs
		WHERE tenant_id = ? AND schedule_id = ? ORDER BY slot DESC LIMIT ?`, s.tenantID, scheduleID, limit)
	return Collect(rows, err, func(r Rows) (ScheduleRun, error) {
		var x ScheduleRun
		err := r.Scan(&x.ScheduleID, &x.TenantID, &x.Slot, &x.CatchUp, &x.JobID, &x.Error, &x.Node, &x.CreatedAt)
		return x, err
	})
}

// SchedulesDue lists every tenant's unpaused schedules whose next slot is at
// or before now, oldest first (for the scheduler, which works across tenants).
func (tx *Tx) SchedulesDue(ctx context.Context, now time.Time, limit int) ([]Schedule, error) {
	rows, err := tx.Query(ctx, "SELECT "+scheduleCols+" FROM schedules WHERE paused = false AND next_run_at <= ? ORDER BY next_run_at LIMIT ?",
		now, limit)
	return Collect(rows, err, func(r Rows) (Schedule, error) { return scanSchedule(r) })
}

// ScheduleRunsPurge deletes runs whose slot is older than before, and trims
// every schedule to its newest keep runs. The once-per-slot key only has to
// outlive the moment two nodes can look at the same slot; the rest is history.
func (tx *Tx) ScheduleRunsPurge(ctx context.Context, before time.Time, keep int) (int64, error) {
	n, err := tx.Exec(ctx, "DELETE FROM schedule_runs WHERE slot < ?", before)
	if err != nil {
		return n, err
	}
	rows, err := tx.Query(ctx, "SELECT schedule_id FROM schedule_runs GROUP BY schedule_id HAVING count(*) > ?", keep)
	ids, err := Collect(rows, err, func(r Rows) (string, error) {
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
