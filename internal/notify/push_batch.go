package notify

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/store"
)

// A fan-out chunk queues its push deliveries as one notify_push_batch
// job rather than a notify_push job each: a job is a River row, its
// joist record and, on SQLite, its share of the single writer (about 70
// µs of a 10,000-recipient fan-out's ~120 µs per recipient went to
// inserting the jobs). The batch job sends every delivery of the chunk,
// some at once; the outcomes are written a group per transaction. A
// delivery whose send failed for a reason that may pass (a push service's
// 5xx or 429, a timeout) gets a notify_push job of its own, scheduled
// after the same backoff a notify_push job's first retry has, so each
// delivery still retries alone. A batch job that fails (its outcomes
// could not be written) is retried by River and sends only the
// deliveries still queued; a crash between a send and its outcome's
// write sends that one again on the retry, as a crashed notify_push job
// would.

// PushBatchArgs is the built-in job sending a fan-out chunk's push
// deliveries.
type PushBatchArgs struct {
	TenantID      string     `json:"tenant_id"`
	CorrelationID string     `json:"correlation_id,omitempty"`
	Items         []PushArgs `json:"items"`
}

// Kind names the job.
func (PushBatchArgs) Kind() string { return "notify_push_batch" }

// pushBatchParallel bounds the sends of one batch job in flight at once.
const pushBatchParallel = 16

// finishGroup is how many outcomes one transaction writes.
const finishGroup = 100

// batchPushJobs folds the notify_push jobs among params into one
// notify_push_batch job (the other jobs stay as they are).
func batchPushJobs(tenantID, correlationID string, params []river.InsertManyParams) []river.InsertManyParams {
	batch := PushBatchArgs{TenantID: tenantID, CorrelationID: correlationID}
	out := params[:0:0]
	for _, p := range params {
		if a, ok := p.Args.(PushArgs); ok {
			batch.Items = append(batch.Items, a)
			continue
		}
		out = append(out, p)
	}
	if len(batch.Items) == 0 {
		return params
	}
	return append(out, river.InsertManyParams{Args: batch, InsertOpts: &river.InsertOpts{MaxAttempts: pushMaxAttempts}})
}

// DeliveryResult is one delivery's outcome for DeliveriesFinish.
type DeliveryResult struct {
	DeliveryID, Status, Detail string
}

type pushBatchWorker struct {
	river.WorkerDefaults[PushBatchArgs]
	p      *Push
	jobs   *jobs.Service
	finish func(ctx context.Context, tenantID string, rs []DeliveryResult) error
}

func (w *pushBatchWorker) Work(ctx context.Context, job *river.Job[PushBatchArgs]) error {
	a := job.Args
	queued, err := w.stillQueued(ctx, a)
	if err != nil {
		return err
	}
	var contacts []string
	for _, it := range a.Items {
		if queued[it.DeliveryID] {
			contacts = append(contacts, it.ContactID)
		}
	}
	targets, err := w.p.targetsMany(ctx, a.TenantID, contacts)
	if err != nil {
		return err
	}
	type sent struct {
		out PushOutcome
		err error
	}
	res := make([]sent, len(a.Items))
	sem := make(chan struct{}, pushBatchParallel)
	var wg sync.WaitGroup
	for i, it := range a.Items {
		if !queued[it.DeliveryID] {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out, err := w.p.deliverTo(ctx, a.TenantID, it.ContactID, targets[it.ContactID], PushMessage{Title: it.Title, Body: it.Body, URL: it.URL, Data: it.Data,
				TTL: 24 * time.Hour})
			res[i] = sent{out, err}
		}()
	}
	wg.Wait()
	var done []DeliveryResult
	var retry []river.InsertManyParams
	now := time.Now()
	for i, it := range a.Items {
		if !queued[it.DeliveryID] {
			continue
		}
		r := res[i]
		var perm *PushPermanentError
		var again *PushRetryError
		switch {
		case r.err == nil:
			done = append(done, DeliveryResult{it.DeliveryID, StatusSent, r.out.Summary()})
		case errors.As(r.err, &perm):
			done = append(done, DeliveryResult{it.DeliveryID, StatusFailed, perm.Reason + ": " + perm.Detail})
		default:
			if ctx.Err() != nil {
				continue // cut short (shutdown, timeout): still queued, sent again by the retry of this job
			}
			// The first retry of a notify_push job: 2 s ±20%, at least the
			// service's Retry-After (at most an hour).
			d := time.Duration(float64(2*time.Second) * (0.8 + 0.4*rand.Float64()))
			if errors.As(r.err, &again) && again.After > 0 {
				d = max(d, min(again.After, time.Hour))
			}
			retry = append(retry, river.InsertManyParams{Args: it,
				InsertOpts: &river.InsertOpts{MaxAttempts: pushMaxAttempts - 1, ScheduledAt: now.Add(d)}})
		}
	}
	for len(done) > 0 {
		n := min(len(done), finishGroup)
		if err := w.finish(ctx, a.TenantID, done[:n]); err != nil {
			return err
		}
		done = done[n:]
	}
	if len(retry) > 0 {
		if err := w.p.db.Write(ctx, func(tx *store.Tx) error {
			_, err := w.jobs.EnqueueManyTx(ctx, tx, a.TenantID, retry, a.CorrelationID)
			return err
		}); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// stillQueued says which of the batch's deliveries are still queued (a
// retry of the job skips those it finished).
func (w *pushBatchWorker) stillQueued(ctx context.Context, a PushBatchArgs) (map[string]bool, error) {
	ids := make([]string, len(a.Items))
	for i, it := range a.Items {
		ids[i] = it.DeliveryID
	}
	queued := make(map[string]bool, len(ids))
	err := w.p.db.Read(ctx, func(tx *store.Tx) error {
		for start := 0; start < len(ids); start += 500 {
			q, args := byKeys(tx, "id", "notification_deliveries", "id", a.TenantID, ids[start:min(start+500, len(ids))], "status = ?", StatusQueued)
			rows, err := tx.Query(ctx, q, args...)
			found, err := store.Collect(rows, err, func(r store.Rows) (string, error) {
				var id string
				return id, r.Scan(&id)
			})
			if err != nil {
				return err
			}
			for _, id := range found {
				queued[id] = true
			}
		}
		return nil
	})
	return queued, err
}
