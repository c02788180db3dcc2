package store

import (
	"context"
	"fmt"
	"time"
)

// JobRecord is joist's row for a job joined with River's execution state.
type JobRecord struct {
	ID            string
	TenantID      string
	RiverID       int64
	Kind          string
	Queue         string
	URL           string
	Method        string
	UniqueKey     string
	Schedule      string
	CorrelationID string
	DeadReason    string
	CreatedAt     time.Time
	// From river_job:
	RiverState  string
	Attempt     int
	MaxAttempts int
	Priority    int
	ScheduledAt time.Time
	AttemptedAt *time.Time
	FinalizedAt *time.Time
}

// JobAttempt records one try of a job.
type JobAttempt struct {
	JobID        string
	Attempt      int
	StartedAt    time.Time
	DurationMS   int64
	Status       int
	ResponseBody string
	Error        string
	Node         string
}

// JobStates are the states users see, mapped from River's.
var JobStates = []string{"scheduled", "available", "running", "retrying", "completed", "cancelled", "dead"}

// jobStateSQL is the condition selecting each user-visible state.
var jobStateSQL = map[string]string{
	"scheduled": "r.state IN ('scheduled', 'pending')",
	"available": "r.state = 'available'",
	"running":   "r.state = 'running'",
	"retrying":  "r.state = 'retryable'",
	"completed": "r.state = 'completed'",
	"cancelled": "(r.state = 'cancelled' AND j.dead_reason = '')",
	"dead":      "(r.state = 'discarded' OR (r.state = 'cancelled' AND j.dead_reason <> ''))",
}

// JobState maps a River state (and joist's dead reason) to the user's state.
func JobState(riverState, deadReason string) string {
	switch riverState {
	case "scheduled", "pending":
		return "scheduled"
	case "retryable":
		return "retrying"
	case "discarded":
		return "dead"
	case "cancelled":
		if deadReason != "" {
			return "dead"
		}
		return "cancelled"
	}
	return riverState
}

const jobCols = `j.id, j.tenant_id, j.river_id, j.kind, j.queue, j.url, j.method, j.unique_key, j.schedule, j.correlation_id,
	j.dead_reason, j.created_at, r.state, r.attempt, r.max_attempts, r.priority, r.scheduled_at, r.attempted_at, r.finalized_at`

func scanJob(r Row) (JobRecord, error) {
	var j JobRecord
	err := r.Scan(&j.ID, &j.TenantID, &j.RiverID, &j.Kind, &j.Queue, &j.URL, &j.Method, &j.UniqueKey, &j.Schedule, &j.CorrelationID,
		&j.DeadReason, &j.CreatedAt, &j.RiverState, &j.Attempt, &j.MaxAttempts, &j.Priority, &j.ScheduledAt, &j.AttemptedAt, &j.FinalizedAt)
	return j, err
}

// JobInsert stores joist's row for a job River has just inserted in the same transaction.
func (s *Scope) JobInsert(ctx context.Context, j JobRecord) error {
	_, err := s.tx.Exec(ctx, `INSERT INTO jobs (id, tenant_id, river_id, kind, queue, url, method, unique_key, schedule, correlation_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, j.ID, s.tenantID, j.RiverID, j.Kind, j.Queue, j.URL, j.Method, j.UniqueKey, j.Schedule, j.CorrelationID, j.CreatedAt)
	return err
}

// JobInsertMany stores many job rows with one statement per 100 rows.
func (s *Scope) JobInsertMany(ctx context.Context, jobs []JobRecord) error {
	for start := 0; start < len(jobs); start += 100 {
		chunk := jobs[start:min(start+100, len(jobs))]
		q := "INSERT INTO jobs (id, tenant_id, river_id, kind, queue, url, method, unique_key, schedule, correlation_id, created_at) VALUES "
		args := make([]any, 0, len(chunk)*11)
		for i, j := range chunk {
			if i > 0 {
				q += ", "
			}
			q += "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
			args = append(args, j.ID, s.tenantID, j.RiverID, j.Kind, j.Queue, j.URL, j.Method, j.UniqueKey, j.Schedule, j.CorrelationID, j.CreatedAt)
		}
		if _, err := s.tx.Exec(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// JobGet finds a job of the tenant.
func (s *Scope) JobGet(ctx context.Context, id string) (JobRecord, error) {
	return scanJob(s.tx.QueryRow(ctx, "SELECT "+jobCols+" FROM jobs j JOIN river_job r ON r.id = j.river_id WHERE j.tenant_id = ? AND j.id = ?", s.tenantID, id))
}

// JobByRiverID finds the tenant's job for a River job id.
func (s *Scope) JobByRiverID(ctx context.Context, riverID int64) (JobRecord, error) {
	return scanJob(s.tx.QueryRow(ctx, "SELECT "+jobCols+" FROM jobs j JOIN river_job r ON r.id = j.river_id WHERE j.tenant_id = ? AND j.river_id = ?", s.tenantID, riverID))
}

// JobFilter narrows a job listing.
type JobFilter struct {
	States []string // user-visible states; empty means all
	Queue  string
	Kind   string
	Since  time.Time // created at or after
	Until  time.Time // created before
}

func (f JobFilter) where(q string, args []any) (string, []any, error) {
	if len(f.States) > 0 {
		q += " AND ("
		for i, st := range f.States {
			cond, ok := jobStateSQL[st]
			if !ok {
				return "", nil, fmt.Errorf("unknown job state %q", st)
			}
			if i > 0 {
				q += " OR "
			}
			q += cond
		}
		q += ")"
	}
	if f.Queue != "" {
		q += " AND j.queue = ?"
		args = append(args, f.Queue)
	}
	if f.Kind != "" {
		q += " AND j.kind = ?"
		args = append(args, f.Kind)
	}
	if !f.Since.IsZero() {
		q += " AND j.created_at >= ?"
		args = append(args, f.Since)
	}
	if !f.Until.IsZero() {
		q += " AND j.created_at < ?"
		args = append(args, f.Until)
	}
	return q, args, nil
}

// JobList lists the tenant's jobs newest first.
func (s *Scope) JobList(ctx context.Context, p Page, f JobFilter) ([]JobRecord, string, error) {
	after, err := p.After()
	if err != nil {
		return nil, "", err
	}
	q := "SELECT " + jobCols + " FROM jobs j JOIN river_job r ON r.id = j.river_id WHERE j.tenant_id = ?"
	args := []any{s.tenantID}
	if after != "" {
		q += " AND j.id < ?"
		args = append(args, after)
	}
	q, args, err = f.where(q, args)
	if err != nil {
		return nil, "", err
	}
	q += " ORDER BY j.id DESC LIMIT ?"
	args = append(args, p.Size()+1)
	rows, err := s.tx.Query(ctx, q, args...)
	items, err := Collect(rows, err, func(r Rows) (JobRecord, error) { return scanJob(r) })
	if err != nil {
		return nil, "", err
	}
	items, next := PageOf(items, p.Size(), func(j JobRecord) string { return j.ID })
	return items, next, nil
}

// JobCounts counts the tenant's jobs by user-visible state.
func (s *Scope) JobCounts(ctx context.Context) (map[string]int, error) {
	rows, err := s.tx.Query(ctx, `SELECT r.state, j.dead_reason <> '', count(*) FROM jobs j JOIN river_job r ON r.id = j.river_id
		WHERE j.tenant_id = ? GROUP BY r.state, j.dead_reason <> ''`, s.tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for _, st := range JobStates {
		out[st] = 0
	}
	for rows.Next() {
		var st string
		var dead bool
		var n int
		if err := rows.Scan(&st, &dead, &n); err != nil {
			return nil, err
		}
		reason := ""
		if dead {
			reason = "x"
		}
		out[JobState(st, reason)] += n
	}
	return out, rows.Err()
}

// JobSetDeadReason marks why a job is dead ("" clears it, on retry).
func (s *Scope) JobSetDeadReason(ctx context.Context, id, reason string) error {
	_, err := s.tx.Exec(ctx, "UPDATE jobs SET dead_reason = ? WHERE tenant_id = ? AND id = ?", reason, s.tenantID, id)
	return err
}

// JobAttemptInsert records an attempt.
func (s *Scope) JobAttemptInsert(ctx context.Context, a JobAttempt) error {
	_, err := s.tx.Exec(ctx, `INSERT INTO job_attempts (job_id, attempt, started_at, duration_ms, status, response_body, error, node)
		SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM jobs WHERE tenant_id = ? AND id = ?)`,
		a.JobID, a.Attempt, a.StartedAt, a.DurationMS, a.Status, a.ResponseBody, a.Error, a.Node, s.tenantID, a.JobID)
	return err
}

// JobAttempts lists a job's attempts in order.
func (s *Scope) JobAttempts(ctx context.Context, jobID string) ([]JobAttempt, error) {
	rows, err := s.tx.Query(ctx, `SELECT a.job_id, a.attempt, a.started_at, a.duration_ms, a.status, a.response_body, a.error, a.node
		FROM job_attempts a JOIN jobs j ON j.id = a.job_id WHERE j.tenant_id = ? AND a.job_id = ? ORDER BY a.started_at`, s.tenantID, jobID)
	return Collect(rows, err, func(r Rows) (JobAttempt, error) {
		var a JobAttempt
		err := r.Scan(&a.JobID, &a.Attempt, &a.StartedAt, &a.DurationMS, &a.Status, &a.ResponseBody, &a.Error, &a.Node)
		return a, err
	})
}

// JobPurgeOrphans deletes joist rows whose River job River has deleted
// (after its retention period).
func (tx *Tx) JobPurgeOrphans(ctx context.Context, olderThan time.Time) (int64, error) {
	return tx.Exec(ctx, "DELETE FROM jobs WHERE created_at < ? AND NOT EXISTS (SELECT 1 FROM river_job r WHERE r.id = jobs.river_id)", olderThan)
}

// JobStats counts every tenant's jobs by user state and queue, and the age
// of the oldest available job per queue, for metrics.
func (tx *Tx) JobStats(ctx context.Context, now time.Time) (map[[2]string]int, map[string]time.Duration, error) {
	rows, err := tx.Query(ctx, `SELECT r.state, j.dead_reason <> '', j.queue, count(*) FROM jobs j JOIN river_job r ON r.id = j.river_id
		GROUP BY r.state, j.dead_reason <> '', j.queue`)
	if err != nil {
		return nil, nil, err
	}
	counts := map[[2]string]int{}
	for rows.Next() {
		var st, queue string
		var dead bool
		var n int
		if err := rows.Scan(&st, &dead, &queue, &n); err != nil {
			rows.Close()
			return nil, nil, err
		}
		reason := ""
		if dead {
			reason = "x"
		}
		counts[[2]string{JobState(st, reason), queue}] += n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	rows, err = tx.Query(ctx, "SELECT queue, min(scheduled_at) FROM river_job WHERE state = 'available' GROUP BY queue")
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	lag := map[string]time.Duration{}
	for rows.Next() {
		var q string
		var t time.Time
		if err := rows.Scan(&q, &t); err != nil {
			return nil, nil, err
		}
		if d := now.Sub(t); d > 0 {
			lag[q] = d
		}
	}
	return counts, lag, rows.Err()
}
