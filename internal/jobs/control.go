package jobs

import (
	"context"
	"errors"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
)

// Retry makes a finished or waiting job run again now (a dead job leaves
// the dead-letter view). A running job cannot be retried.
func (s *Service) Retry(ctx context.Context, a auth.Actor, tenantID, id string) (Job, error) {
	return s.control(ctx, a, tenantID, id, "job.retry")
}

// Cancel cancels a job that has not finished. A running job is asked to stop.
func (s *Service) Cancel(ctx context.Context, a auth.Actor, tenantID, id string) (Job, error) {
	return s.control(ctx, a, tenantID, id, "job.cancel")
}

func (s *Service) control(ctx context.Context, a auth.Actor, tenantID, id, action string) (Job, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermJobsWrite); err != nil {
		return Job{}, err
	}
	var j Job
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		j, err = s.controlTx(ctx, tx, a, tenantID, id, action)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return j, core.NotFound("job %q not found", id)
	}
	return j, err
}

func (s *Service) controlTx(ctx context.Context, tx *store.Tx, a auth.Actor, tenantID, id, action string) (Job, error) {
	sc := scope{tx.Tenant(tenantID)}
	before, err := sc.jobGet(ctx, id)
	if err != nil {
		return Job{}, err
	}
	state := userState(before.RiverState, before.DeadReason)
	switch action {
	case "job.retry":
		if state == "running" {
			return Job{}, core.Conflict("job_running", id, "job %s is running; cancel it first or wait for it to finish", id)
		}
		if _, err := s.engine.impl.retryTx(ctx, tx.Raw(), before.RiverID); err != nil {
			return Job{}, err
		}
		if before.DeadReason != "" {
			if err := sc.jobSetDeadReason(ctx, id, ""); err != nil {
				return Job{}, err
			}
		}
	case "job.cancel":
		if state == "completed" || state == "cancelled" || state == "dead" {
			return Job{}, core.Conflict("job_finished", id, "job %s is already %s", id, state)
		}
		if _, err := s.engine.impl.cancelTx(ctx, tx.Raw(), before.RiverID); err != nil {
			return Job{}, err
		}
	}
	after, err := sc.jobGet(ctx, id)
	if err != nil {
		return Job{}, err
	}
	j := Job{record: after, State: userState(after.RiverState, after.DeadReason)}
	err = s.core.Audit(ctx, tx, a, tenantID, action, "job", id, map[string]any{"before": map[string]string{"state": state}, "after": map[string]string{"state": j.State}})
	return j, err
}

// BulkResult says what a bulk action did.
type BulkResult struct {
	Matched  int
	Changed  int
	Skipped  int
	Finished bool // false when MaxBulk matched more: run it again
}

// MaxBulk bounds one bulk call.
const MaxBulk = 5000

// Bulk retries or cancels every job of the tenant matching f (up to MaxBulk),
// in chunks of 200 per transaction, each audited.
func (s *Service) Bulk(ctx context.Context, a auth.Actor, tenantID string, f Filter, action string) (BulkResult, error) {
	var res BulkResult
	if err := s.core.TenantAccess(a, tenantID, auth.PermJobsWrite); err != nil {
		return res, err
	}
	if err := ValidateFilter(f); err != nil {
		return res, err
	}
	if action != "job.retry" && action != "job.cancel" {
		return res, core.Invalid("invalid_action", "action must be retry or cancel")
	}
	var ids []string
	p := store.Page{Limit: 500}
	for len(ids) < MaxBulk {
		var recs []record
		var next string
		err := s.db.Read(ctx, func(tx *store.Tx) error {
			var err error
			recs, next, err = scope{tx.Tenant(tenantID)}.jobList(ctx, p, f)
			return err
		})
		if err != nil {
			return res, err
		}
		for _, r := range recs {
			ids = append(ids, r.ID)
		}
		if next == "" {
			res.Finished = true
			break
		}
		p.Cursor = next
	}
	if len(ids) > MaxBulk {
		ids, res.Finished = ids[:MaxBulk], false
	}
	res.Matched = len(ids)
	for start := 0; start < len(ids); start += 200 {
		chunk := ids[start:min(start+200, len(ids))]
		changed, skipped := 0, 0
		err := s.db.Write(ctx, func(tx *store.Tx) error {
			changed, skipped = 0, 0
			for _, id := range chunk {
				_, err := s.controlTx(ctx, tx, a, tenantID, id, action)
				var ce *core.Error
				switch {
				case err == nil:
					changed++
				case errors.As(err, &ce) && errors.Is(err, core.ErrConflict):
					skipped++ // finished or running meanwhile
				default:
					return err
				}
			}
			return nil
		})
		if err != nil {
			return res, err
		}
		res.Changed += changed
		res.Skipped += skipped
	}
	return res, nil
}
