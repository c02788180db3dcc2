package schedules

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
)

// purgeEvery is how often a node trims schedule_runs.
const purgeEvery = 10 * time.Minute

// dueBatch bounds how many schedules one tick handles.
const dueBatch = 200

// Start runs the scheduler loop on this node until Stop. Every node runs
// one; they agree through the database.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		return nil
	}
	ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.done = make(chan struct{})
	go s.loop(ctx, s.done)
	return nil
}

// Stop stops the loop and waits for the tick in progress. It is idempotent.
func (s *Service) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel == nil {
		return
	}
	s.cancel()
	<-s.done
	s.cancel = nil
}

func (s *Service) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(s.opts.Tick)
	defer t.Stop()
	lastPurge := time.Now()
	for {
		if _, err := s.RunDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("schedules: find due schedules", "err", err)
		}
		if time.Since(lastPurge) >= purgeEvery {
			lastPurge = time.Now()
			s.purge(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunDue handles every schedule due now, once, and returns how many jobs it
// enqueued. The loop calls it every tick; tests call it with their own clock.
func (s *Service) RunDue(ctx context.Context) (int, error) {
	now := s.now()
	var due []record
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		due, err = schedulesDue(ctx, tx, now, dueBatch)
		return err
	})
	if err != nil {
		return 0, err
	}
	total := 0
	for _, sc := range due {
		if ctx.Err() != nil {
			return total, nil
		}
		n, err := s.fire(ctx, sc, now)
		total += n
		if err != nil && ctx.Err() == nil {
			s.log.Warn("schedules: fire", "tenant", sc.TenantID, "schedule", sc.Name, "err", err)
		}
	}
	return total, nil
}

// errLost means another node (or a person) changed the schedule first.
var errLost = errors.New("schedule changed or handled by another node")

// fire handles one due schedule in one transaction: compare-and-set
// next_run_at, claim each slot to enqueue, enqueue its job.
func (s *Service) fire(ctx context.Context, sc record, now time.Time) (int, error) {
	spec, err := ParseSpec(sc.Cron, sc.Timezone)
	if err != nil {
		return 0, err // cannot happen: validated when stored
	}
	runs, next, missed := spec.plan(sc.NextRunAt, now, sc.Missed, s.opts.MaxLate)
	v := s.view(sc)
	enqueued := 0
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		enqueued = 0
		q := scope{tx.Tenant(sc.TenantID)}
		won, err := q.scheduleAdvance(ctx, sc.ID, sc.Version, sc.NextRunAt, next)
		if err != nil {
			return err
		}
		if !won {
			return errLost
		}
		for _, r := range runs {
			claimed, err := q.scheduleRunClaim(ctx, Run{ScheduleID: sc.ID, Slot: r.slot, CatchUp: r.catchUp,
				Node: s.opts.NodeID, CreatedAt: now})
			if err != nil {
				return err
			}
			if !claimed {
				continue // another node enqueued this slot
			}
			in := v.Template.push()
			in.Schedule = sc.Name
			in.Headers = maps.Clone(in.Headers)
			if in.Headers == nil {
				in.Headers = map[string]string{}
			}
			in.Headers[HeaderSchedule] = sc.Name
			in.Headers[HeaderSlot] = r.slot.Format(time.RFC3339)
			jobID, msg := "", ""
			j, _, err := s.jobs.CreateTx(ctx, tx, sc.TenantID, in, CorrelationID(sc.Name, r.slot))
			switch {
			case errors.Is(err, core.ErrInvalid):
				// The template no longer passes (a queue was removed, or
				// JOIST_JOB_MAX_TIMEOUT lowered): record why and move on.
				msg = err.Error()
			case err != nil:
				return err
			default:
				jobID = j.ID
				enqueued++
			}
			if err := q.scheduleRunFinish(ctx, sc.ID, r.slot, jobID, msg); err != nil {
				return err
			}
			if err := q.scheduleSetLast(ctx, sc.ID, r.slot, jobID, msg); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errLost) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if missed {
		s.log.Info("schedules: missed slots", "tenant", sc.TenantID, "schedule", sc.Name, "policy", sc.Missed,
			"first_missed", sc.NextRunAt, "caught_up", len(runs) > 0 && runs[0].catchUp)
	}
	return enqueued, nil
}

// CorrelationID is the correlation id of the job a schedule enqueues for a
// slot: it names the schedule and the slot (Unix seconds).
func CorrelationID(name string, slot time.Time) string {
	return fmt.Sprintf("sch_%s_%d", name, slot.Unix())
}

// purge trims schedule_runs.
func (s *Service) purge(ctx context.Context) {
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		n, err := scheduleRunsPurge(ctx, tx, s.now().Add(-s.opts.RunRetention), s.opts.RunsKept)
		if n > 0 {
			s.log.Debug("schedules: purged runs", "count", n)
		}
		return err
	})
	if err != nil && ctx.Err() == nil {
		s.log.Warn("schedules: purge runs", "err", err)
	}
}
