package jobs

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/joist-dev/joist/internal/store"
)

// The jobs system's SQL: its tables (jobs, job_attempts, signing_secrets)
// joined with River's river_job. Tenant-scoped queries are methods of scope,
// which only a *store.Scope makes, and constrain on its tenant; the
// unscoped ones (across tenants, for metrics and upkeep, and the signing
// secrets, whose tenant "" is the instance) take a *store.Tx.

// record is joist's row for a job joined with River's execution state.
type record struct {
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

// Attempt records one try of a job.
type Attempt struct {
	JobID        string
	Attempt      int
	StartedAt    time.Time
	DurationMS   int64
	Status       int
	ResponseBody string
	Error        string
	Node         string
}

// AllStates are the states users see (userState maps River's to them).
var AllStates = []string{"scheduled", "available", "running", "retrying", "completed", "cancelled", "dead"}

// stateSQL is the condition selecting each user-visible state.
var stateSQL = map[string]string{
	"scheduled": "r.state IN ('scheduled', 'pending')",
	"available": "r.state = 'available'",
	"running":   "r.state = 'running'",
	"retrying":  "r.state = 'retryable'",
	"completed": "r.state = 'completed'",
	"cancelled": "(r.state = 'cancelled' AND j.dead_reason = '')",
	"dead":      "(r.state = 'discarded' OR (r.state = 'cancelled' AND j.dead_reason <> ''))",
}

// userState maps a River state (and joist's dead reason) to the user's state.
func userState(riverState, deadReason string) string {
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

func scanJob(r store.Row) (record, error) {
	var j record
	err := r.Scan(&j.ID, &j.TenantID, &j.RiverID, &j.Kind, &j.Queue, &j.URL, &j.Method, &j.UniqueKey, &j.Schedule, &j.CorrelationID,
		&j.DeadReason, &j.CreatedAt, &j.RiverState, &j.Attempt, &j.MaxAttempts, &j.Priority, &j.ScheduledAt, &j.AttemptedAt, &j.FinalizedAt)
	return j, err
}

// scope is the jobs tables confined to one tenant: every method constrains
// on the Scope's tenant.
type scope struct{ s *store.Scope }

// jobInsert stores joist's row for a job River has just inserted in the same transaction.
func (sc scope) jobInsert(ctx context.Context, j record) error {
	_, err := sc.s.Tx().Exec(ctx, `INSERT INTO jobs (id, tenant_id, river_id, kind, queue, url, method, unique_key, schedule, correlation_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, j.ID, sc.s.TenantID(), j.RiverID, j.Kind, j.Queue, j.URL, j.Method, j.UniqueKey, j.Schedule, j.CorrelationID, j.CreatedAt)
	return err
}

// jobInsertMany stores many job rows with one statement per 1,000 rows
// (11,000 parameters, within both stores' limits).
func (sc scope) jobInsertMany(ctx context.Context, jobs []record) error {
	for start := 0; start < len(jobs); start += 1000 {
		chunk := jobs[start:min(start+1000, len(jobs))]
		var q strings.Builder
		q.WriteString("INSERT INTO jobs (id, tenant_id, river_id, kind, queue, url, method, unique_key, schedule, correlation_id, created_at) VALUES ")
		args := make([]any, 0, len(chunk)*11)
		for i, j := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, j.ID, sc.s.TenantID(), j.RiverID, j.Kind, j.Queue, j.URL, j.Method, j.UniqueKey, j.Schedule, j.CorrelationID, j.CreatedAt)
		}
		if _, err := sc.s.Tx().Exec(ctx, q.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// jobGet finds a job of the tenant.
func (sc scope) jobGet(ctx context.Context, id string) (record, error) {
	return scanJob(sc.s.Tx().QueryRow(ctx, "SELECT "+jobCols+" FROM jobs j JOIN river_job r ON r.id = j.river_id WHERE j.tenant_id = ? AND j.id = ?",
		sc.s.TenantID(), id))
}

// jobByRiverID finds the tenant's job for a River job id.
func (sc scope) jobByRiverID(ctx context.Context, riverID int64) (record, error) {
	return scanJob(sc.s.Tx().QueryRow(ctx, "SELECT "+jobCols+" FROM jobs j JOIN river_job r ON r.id = j.river_id WHERE j.tenant_id = ? AND j.river_id = ?",
		sc.s.TenantID(), riverID))
}

// Filter narrows a job listing.
type Filter struct {
	States []string // user-visible states; empty means all
	Queue  string
	Kind   string
	Since  time.Time // created at or after
	Until  time.Time // created before
}

func (f Filter) where(q string, args []any) (string, []any, error) {
	if len(f.States) > 0 {
		q += " AND ("
		for i, st := range f.States {
			cond, ok := stateSQL[st]
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

// jobList lists the tenant's jobs newest first.
func (sc scope) jobList(ctx context.Context, p store.Page, f Filter) ([]record, string, error) {
	after, err := p.After()
	if err != nil {
		return nil, "", err
	}
	q := "SELECT " + jobCols + " FROM jobs j JOIN river_job r ON r.id = j.river_id WHERE j.tenant_id = ?"
	args := []any{sc.s.TenantID()}
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
	rows, err := sc.s.Tx().Query(ctx, q, args...)
	items, err := store.Collect(rows, err, func(r store.Rows) (record, error) { return scanJob(r) })
	if err != nil {
		return nil, "", err
	}
	items, next := store.PageOf(items, p, func(j record) string { return j.ID })
	return items, next, nil
}

// jobCounts counts the tenant's jobs by user-visible state.
func (sc scope) jobCounts(ctx context.Context) (map[string]int, error) {
	rows, err := sc.s.Tx().Query(ctx, `SELECT r.state, j.dead_reason <> '', count(*) FROM jobs j JOIN river_job r ON r.id = j.river_id
		WHERE j.tenant_id = ? GROUP BY r.state, j.dead_reason <> ''`, sc.s.TenantID())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for _, st := range AllStates {
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
		out[userState(st, reason)] += n
	}
	return out, rows.Err()
}

// jobSetDeadReason marks why a job is dead ("" clears it, on retry).
func (sc scope) jobSetDeadReason(ctx context.Context, id, reason string) error {
	_, err := sc.s.Tx().Exec(ctx, "UPDATE jobs SET dead_reason = ? WHERE tenant_id = ? AND id = ?", reason, sc.s.TenantID(), id)
	return err
}

// jobSetDeadReasonByRiverID sets the dead reason of the job River knows as
// riverID, unless one is set (River's error handler knows no tenant).
func jobSetDeadReasonByRiverID(ctx context.Context, tx *store.Tx, riverID int64, reason string) error {
	_, err := tx.Exec(ctx, "UPDATE jobs SET dead_reason = ? WHERE river_id = ? AND dead_reason = ''", reason, riverID)
	return err
}

// jobAttemptInsert records an attempt.
func (sc scope) jobAttemptInsert(ctx context.Context, a Attempt) error {
	_, err := sc.s.Tx().Exec(ctx, `INSERT INTO job_attempts (job_id, attempt, started_at, duration_ms, status, response_body, error, node)
		SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM jobs WHERE tenant_id = ? AND id = ?)`,
		a.JobID, a.Attempt, a.StartedAt, a.DurationMS, a.Status, a.ResponseBody, a.Error, a.Node, sc.s.TenantID(), a.JobID)
	return err
}

// jobAttempts lists a job's attempts in order.
func (sc scope) jobAttempts(ctx context.Context, jobID string) ([]Attempt, error) {
	rows, err := sc.s.Tx().Query(ctx, `SELECT a.job_id, a.attempt, a.started_at, a.duration_ms, a.status, a.response_body, a.error, a.node
		FROM job_attempts a JOIN jobs j ON j.id = a.job_id WHERE j.tenant_id = ? AND a.job_id = ? ORDER BY a.started_at`, sc.s.TenantID(), jobID)
	return store.Collect(rows, err, func(r store.Rows) (Attempt, error) {
		var a Attempt
		err := r.Scan(&a.JobID, &a.Attempt, &a.StartedAt, &a.DurationMS, &a.Status, &a.ResponseBody, &a.Error, &a.Node)
		return a, err
	})
}

// jobPurgeOrphans deletes joist rows whose River job River has deleted
// (after its retention period).
func jobPurgeOrphans(ctx context.Context, tx *store.Tx, olderThan time.Time) (int64, error) {
	return tx.Exec(ctx, "DELETE FROM jobs WHERE created_at < ? AND NOT EXISTS (SELECT 1 FROM river_job r WHERE r.id = jobs.river_id)", olderThan)
}

// jobStats counts every tenant's jobs by user state and queue, and the age
// of the oldest available job per queue, for metrics.
func jobStats(ctx context.Context, tx *store.Tx, now time.Time) (map[[2]string]int, map[string]time.Duration, error) {
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
		counts[[2]string{userState(st, reason), queue}] += n
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

// signingSecret is an encrypted Standard Webhooks secret of a tenant
// (TenantID "" is the instance's own, for instance-level sources).
type signingSecret struct {
	ID        string
	TenantID  string
	SecretEnc string
	CreatedAt time.Time
	ExpiresAt *time.Time
}

// signingSecretsLive lists a tenant's unexpired secrets, newest first.
func signingSecretsLive(ctx context.Context, tx *store.Tx, tenantID string, now time.Time) ([]signingSecret, error) {
	rows, err := tx.Query(ctx, `SELECT id, tenant_id, secret_enc, created_at, expires_at FROM signing_secrets
		WHERE tenant_id = ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY id DESC`, tenantID, now)
	return store.Collect(rows, err, func(r store.Rows) (signingSecret, error) {
		var s signingSecret
		err := r.Scan(&s.ID, &s.TenantID, &s.SecretEnc, &s.CreatedAt, &s.ExpiresAt)
		return s, err
	})
}

// signingSecretRotate adds a new secret and makes every other live secret
// of the tenant expire at oldExpiresAt.
func signingSecretRotate(ctx context.Context, tx *store.Tx, s signingSecret, now, oldExpiresAt time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE signing_secrets SET expires_at = ? WHERE tenant_id = ? AND (expires_at IS NULL OR expires_at > ?)`,
		oldExpiresAt, s.TenantID, oldExpiresAt); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, "INSERT INTO signing_secrets (id, tenant_id, secret_enc, created_at, expires_at) VALUES (?, ?, ?, ?, NULL)",
		s.ID, s.TenantID, s.SecretEnc, s.CreatedAt)
	return err
}
