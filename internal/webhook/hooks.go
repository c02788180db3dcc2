package webhook

import (
	"context"
	"errors"
	"fmt"

	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/store"
)

// EventBodySource is the name under which EventBody is registered as a
// jobs body source (jobs.Options.Bodies): forwards name it, with the
// event's id as the ref.
const EventBodySource = "webhook_event"

// EventBody is the jobs body source of forwards (a jobs.BodySource): the
// raw body of the tenant's stored event ref, read at each attempt so the
// job carries no copy. An event no longer stored (purged after
// JOIST_WEBHOOK_RETENTION, or its source deleted) ends the job dead with
// dead_reason event_gone.
func EventBody(ctx context.Context, sc *store.Scope, ref string) ([]byte, error) {
	var b []byte
	err := sc.Tx().QueryRow(ctx, "SELECT body FROM webhook_events WHERE tenant_id = ? AND id = ?", sc.TenantID(), ref).Scan(&b)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &jobs.GoneError{DeadReason: "event_gone",
			Message: "the webhook event this job forwards is no longer stored (purged after JOIST_WEBHOOK_RETENTION, or its source was deleted)"}
	}
	if b == nil && err == nil {
		b = []byte{}
	}
	return b, err
}

var _ jobs.BodySource = EventBody

// StoredEvent reads the tenant's stored event id as it was received (its
// body, headers, correlation id; not its status): the hook a provider's
// handler is given (billing.Options.Events) to read the event its job
// names, so that it never reads a webhook table. An event no longer
// stored is store.ErrNotFound.
func StoredEvent(ctx context.Context, sc *store.Scope, id string) (Event, error) {
	return eventRead(ctx, sc, id)
}

// purgeBatch bounds the events one Maintain call deletes.
const purgeBatch = 5000

// Maintain is the webhook system's maintenance, run every few minutes by
// the app's janitor: it deletes events received more than
// Options.Retention ago (their dedup keys go with them), up to 5,000 a
// call.
func (s *Service) Maintain(ctx context.Context) error {
	if s.opts.Retention <= 0 {
		return nil
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		n, err := eventPurge(ctx, tx, s.core.Now().Add(-s.opts.Retention), purgeBatch)
		if n > 0 {
			s.log.Debug("purged webhook events", "count", n)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("purge webhook events: %w", err)
	}
	return nil
}
