package notify

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/riverqueue/river"

	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// Digests. A type with a digest (a window and a key template) keeps its
// in-app notifications one per event, but gathers the email and push
// deliveries of one contact's events with the same rendered key into a
// digest (ids ndg_...) that goes out once, when the window that its first
// event opened closes. The digest is a row, not a timer in memory: at most
// one digest per (tenant, contact, type, key) is open (a partial unique
// index), so concurrent fan-outs on any number of nodes find or create the
// same one, and the fan-out that creates it enqueues its notify_digest
// job, scheduled at the window's end, in the same transaction.

// Digest statuses.
const (
	DigestOpen   = "open"   // events join it until window_end
	DigestClosed = "closed" // its window passed before its job ran
	DigestSent   = "sent"   // its job planned its deliveries
)

// ReasonDigested is the skip reason of a notification's email or push
// delivery gathered into a digest (its target names the digest).
const ReasonDigested = "digested"

// DigestArgs is the built-in job that closes a digest at its window's end
// and plans its deliveries.
type DigestArgs struct {
	TenantID string `json:"tenant_id"`
	DigestID string `json:"digest_id"`
}

// Kind names the job.
func (DigestArgs) Kind() string { return "notify_digest" }

type digestWorker struct {
	river.WorkerDefaults[DigestArgs]
	svc *Service
}

func (w *digestWorker) Work(ctx context.Context, job *river.Job[DigestArgs]) error {
	return w.svc.digestSend(ctx, job.Args.TenantID, job.Args.DigestID)
}

// digestWindow is the type's digest window (0: not a digest type).
func digestWindow(t Type) time.Duration {
	if t.DigestWindow == "" {
		return 0
	}
	d, err := time.ParseDuration(t.DigestWindow)
	if err != nil {
		return 0 // checked when stored; a bad one digests nothing
	}
	return d
}

// digested reports whether channel ch of the type is gathered into
// digests: email and push, when the type has a window and joist has the
// channel.
func (s *Service) digested(fc *fanCtx, ch string) bool {
	if fc.digestWindow == 0 || ch == ChannelInApp || !fc.typ.Has(ch) {
		return false
	}
	_, ok := s.channels[ch]
	return ok
}

// digestAssign finds or creates the open digest of each contact of a
// chunk that has a digested channel on, in contact order (so that two
// fan-outs lock digest rows in one order). It returns the digest id by
// contact id; a contact whose key does not render gets the error's text
// in failed instead (its digested deliveries fail, saying so).
func (s *Service) digestAssign(ctx context.Context, tx *store.Tx, fc *fanCtx, contacts []*store.Contact, skip map[string]bool,
	prefs map[string]wire.NotificationPreferencesPut, now time.Time) (ids, failed map[string]string, err error) {
	ids, failed = map[string]string{}, map[string]string{}
	if fc.digestWindow == 0 {
		return ids, failed, nil
	}
	type want struct{ contact, key string }
	var ws []want
	seen := map[string]bool{}
	for _, c := range contacts {
		if c == nil || skip[c.ID] || seen[c.ID] {
			continue
		}
		seen[c.ID] = true
		on := false
		for _, ch := range Channels[1:] {
			if s.digested(fc, ch) {
				if ok, _ := Decide(fc.typ, prefs[c.ID], ch); ok {
					on = true
				}
			}
		}
		if !on {
			continue
		}
		tp, err := parseContent("digest.key", fc.typ.DigestKey)
		var key string
		if err == nil {
			key, err = execContent(tp, contextMap(fc, *c))
		}
		if err != nil {
			failed[c.ID] = "digest key: " + err.Error()
			continue
		}
		ws = append(ws, want{c.ID, key})
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].contact < ws[j].contact })
	for _, w := range ws {
		id, err := s.digestJoin(ctx, tx, fc, w.contact, w.key, now)
		if err != nil {
			return nil, nil, err
		}
		ids[w.contact] = id
	}
	return ids, failed, nil
}

// digestJoin adds one notification to the open digest of (contact, type,
// key), creating it (with its job, scheduled at the window's end) when
// there is none or when the open one's window has passed (it is closed
// first, and its own job sends it).
//
// Exactly one digest per window: the join is an UPDATE of the open row,
// which on PostgreSQL waits for a digest job closing the row at that
// moment and then no longer matches; the insert is ON CONFLICT DO NOTHING
// on the partial unique index of open digests, so of two fan-outs that
// both found none, one creates the row and the other, once the first
// commits, joins it.
func (s *Service) digestJoin(ctx context.Context, tx *store.Tx, fc *fanCtx, contactID, key string, now time.Time) (string, error) {
	tid := fc.ev.TenantID
	for range 3 {
		var id string
		err := tx.QueryRow(ctx, `UPDATE notification_digests SET count = count + 1, updated_at = ? WHERE tenant_id = ? AND contact_id = ? AND type = ?
			AND digest_key = ? AND status = 'open' AND window_end > ? RETURNING id`, now, tid, contactID, fc.typ.Name, key, now).Scan(&id)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
		if _, err := tx.Exec(ctx, `UPDATE notification_digests SET status = 'closed', updated_at = ? WHERE tenant_id = ? AND contact_id = ? AND type = ?
			AND digest_key = ? AND status = 'open' AND window_end <= ?`, now, tid, contactID, fc.typ.Name, key, now); err != nil {
			return "", err
		}
		id = store.NewID("ndg_")
		end := now.Add(fc.digestWindow)
		n, err := tx.Exec(ctx, `INSERT INTO notification_digests (id, tenant_id, contact_id, type, digest_key, status, count, window_start, window_end,
			correlation_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'open', 1, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant_id, contact_id, type, digest_key) WHERE status = 'open' DO NOTHING`,
			id, tid, contactID, fc.typ.Name, key, now, end, fc.ev.CorrelationID, now, now)
		if err != nil {
			return "", err
		}
		if n == 0 {
			continue // another fan-out created it meanwhile: join it
		}
		jobID, err := s.jobs.EnqueueTx(ctx, tx, tid, DigestArgs{TenantID: tid, DigestID: id}, &river.InsertOpts{ScheduledAt: end},
			fc.ev.CorrelationID)
		if err != nil {
			return "", err
		}
		_, err = tx.Exec(ctx, "UPDATE notification_digests SET job_id = ? WHERE tenant_id = ? AND id = ?", jobID, tid, id)
		return id, err
	}
	return "", fmt.Errorf("notify: digest of contact %s, type %s: neither found nor created after 3 tries", contactID, fc.typ.Name)
}
