package notify

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
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
		key, err := fc.content("digest.key", fc.typ.DigestKey, func() map[string]any { return contextMap(fc, *c) })
		if err != nil {
			failed[c.ID] = "digest key: " + err.Error()
			continue
		}
		ws = append(ws, want{c.ID, key})
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].contact < ws[j].contact })
	for lo := 0; lo < len(ws); lo += insertBatch {
		batch := ws[lo:min(lo+insertBatch, len(ws))]
		keys := make(map[string]string, len(batch))
		for _, w := range batch {
			keys[w.contact] = w.key
		}
		if err := s.digestBatch(ctx, tx, fc, keys, ids, now); err != nil {
			return nil, nil, err
		}
	}
	return ids, failed, nil
}

// digestBatch is digestJoin for many contacts (each with its key) at
// once, with a few statements instead of several per contact: it locks
// the open digests of the contacts in contact order (on PostgreSQL), joins
// those inside their window, closes those past it, inserts the missing
// ones (their jobs enqueued in one batch) and leaves any a concurrent
// fan-out created meanwhile to digestJoin. It sets ids[contact].
func (s *Service) digestBatch(ctx context.Context, tx *store.Tx, fc *fanCtx, keys map[string]string, ids map[string]string, now time.Time) error {
	tid := fc.ev.TenantID
	contacts := make([]string, 0, len(keys))
	for c := range keys {
		contacts = append(contacts, c)
	}
	sort.Strings(contacts)
	args := []any{tid, fc.typ.Name}
	for _, c := range contacts {
		args = append(args, c)
	}
	q := `SELECT id, contact_id, digest_key, window_end FROM notification_digests WHERE tenant_id = ? AND type = ? AND status = 'open'
		AND contact_id IN (?` + store.MorePlaceholders(len(contacts)-1) + `) ORDER BY contact_id`
	if tx.Dialect() == store.Postgres {
		q += " FOR UPDATE"
	}
	type open struct {
		id, contact, key string
		end              time.Time
	}
	rows, err := tx.Query(ctx, q, args...)
	found, err := store.Collect(rows, err, func(r store.Rows) (open, error) {
		var o open
		return o, r.Scan(&o.id, &o.contact, &o.key, &o.end)
	})
	if err != nil {
		return err
	}
	var join, closing []string
	for _, o := range found {
		switch {
		case keys[o.contact] != o.key:
		case o.end.After(now):
			ids[o.contact] = o.id
			join = append(join, o.id)
		default:
			closing = append(closing, o.id)
		}
	}
	byIDs := func(set string, list []string) error {
		if len(list) == 0 {
			return nil
		}
		a := []any{now, tid}
		for _, id := range list {
			a = append(a, id)
		}
		_, err := tx.Exec(ctx, "UPDATE notification_digests SET "+set+", updated_at = ? WHERE tenant_id = ? AND id IN (?"+
			store.MorePlaceholders(len(list)-1)+")", a...)
		return err
	}
	if err := byIDs("count = count + 1", join); err != nil {
		return err
	}
	if err := byIDs("status = 'closed'", closing); err != nil {
		return err
	}
	var fresh []string // contacts without an open digest, in order
	for _, c := range contacts {
		if ids[c] == "" {
			fresh = append(fresh, c)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	end := now.Add(fc.digestWindow)
	var b strings.Builder
	b.WriteString(`INSERT INTO notification_digests (id, tenant_id, contact_id, type, digest_key, status, count, window_start, window_end,
		correlation_id, created_at, updated_at) VALUES `)
	a := make([]any, 0, 10*len(fresh))
	newID := map[string]string{}
	for i, c := range fresh {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, 'open', 1, ?, ?, ?, ?, ?)")
		newID[c] = store.NewID("ndg_")
		a = append(a, newID[c], tid, c, fc.typ.Name, keys[c], now, end, fc.ev.CorrelationID, now, now)
	}
	b.WriteString(" ON CONFLICT (tenant_id, contact_id, type, digest_key) WHERE status = 'open' DO NOTHING RETURNING contact_id")
	rows, err = tx.Query(ctx, b.String(), a...)
	made, err := store.Collect(rows, err, func(r store.Rows) (string, error) {
		var c string
		return c, r.Scan(&c)
	})
	if err != nil {
		return err
	}
	sort.Strings(made)
	params := make([]river.InsertManyParams, len(made))
	for i, c := range made {
		ids[c] = newID[c]
		params[i] = river.InsertManyParams{Args: DigestArgs{TenantID: tid, DigestID: newID[c]}, InsertOpts: &river.InsertOpts{ScheduledAt: end}}
	}
	if len(made) > 0 {
		jobIDs, err := s.jobs.EnqueueManyTx(ctx, tx, tid, params, fc.ev.CorrelationID)
		if err != nil {
			return err
		}
		var sb strings.Builder
		sb.WriteString("UPDATE notification_digests SET job_id = CASE id")
		ja := []any{}
		for i, c := range made {
			sb.WriteString(" WHEN ? THEN ?")
			ja = append(ja, newID[c], jobIDs[i])
		}
		sb.WriteString(" END WHERE tenant_id = ? AND id IN (?" + store.MorePlaceholders(len(made)-1) + ")")
		ja = append(ja, tid)
		for _, c := range made {
			ja = append(ja, newID[c])
		}
		if _, err := tx.Exec(ctx, sb.String(), ja...); err != nil {
			return err
		}
	}
	// A concurrent fan-out created these meanwhile (the insert found its
	// row): join them one by one.
	for _, c := range fresh {
		if ids[c] != "" {
			continue
		}
		id, err := s.digestJoin(ctx, tx, fc, c, keys[c], now)
		if err != nil {
			return err
		}
		ids[c] = id
	}
	return nil
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
