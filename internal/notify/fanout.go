package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/email/render"
	"github.com/joist-dev/joist/internal/store"
)

// The fan-out job turns an event into notifications and deliveries, a
// chunk of recipients per transaction (Options.Chunk), so a large event
// never holds the database's writer for long. notify_events.fanned_out
// counts the recipients whose chunk committed: after a crash the job
// resumes there, and (event, contact) is unique, so a recipient is
// notified at most once whatever happens.

type fanoutWorker struct {
	river.WorkerDefaults[FanoutArgs]
	svc *Service
}

// Timeout bounds one attempt: a 10,000-recipient event with email takes
// seconds, not minutes, but a slow database should not cut it short.
func (w *fanoutWorker) Timeout(*river.Job[FanoutArgs]) time.Duration { return 10 * time.Minute }

func (w *fanoutWorker) Work(ctx context.Context, job *river.Job[FanoutArgs]) error {
	return w.svc.fanout(ctx, job.Args.TenantID, job.Args.EventID, w.svc.opts.Chunk, 0)
}

// errStaleChunk: another run moved the event on; reload and go on.
var errStaleChunk = errors.New("notify: fan-out moved on under this run")

// fanCtx is what every recipient of one event shares.
type fanCtx struct {
	ev     Event
	typ    Type
	found  bool // the type still exists
	data   map[string]any
	tenant map[string]any
	inApp  [3]string // the in_app title, body and url templates
	// contents memoises the content templates' parses and contact-free
	// renders (fanout_content.go).
	contents map[string]*contentMemo
	actor    auth.Actor
	recips   []recipient
	chunkNo  int
	// before holds the recipient ids (external ids) of the committed
	// chunks, recips[:ev.FannedOut]: only a recipient among them can have
	// a notification of the event already (see fanChunk).
	before map[string]bool
	// digestWindow is the type's digest window (0: none); digests and
	// digestFailed are the chunk's digest by contact, or why its key did
	// not render (see digestAssign).
	digestWindow time.Duration
	digests      map[string]string
	digestFailed map[string]string
}

// fanout handles the event's recipients from where it stands, chunk per
// transaction; failAfter > 0 (tests) fails it after that many chunks, as
// a crash would.
func (s *Service) fanout(ctx context.Context, tenantID, eventID string, chunk, failAfter int) error {
	var fc fanCtx
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		sc := tx.Tenant(tenantID)
		var err error
		if fc.ev, err = eventGet(ctx, sc, eventID, true); err != nil {
			return err
		}
		fc.typ, err = typeFind(ctx, sc, fc.ev.Type)
		switch {
		case err == nil:
			fc.found = true
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		tn, err := tx.TenantGet(ctx, tenantID)
		if err != nil {
			return err
		}
		fc.tenant = map[string]any{"slug": tn.Slug, "name": tn.Name}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil // the event is gone: nothing to do
	}
	if err != nil {
		return err
	}
	if fc.ev.Status == EventDone {
		return nil
	}
	if err := json.Unmarshal(fc.ev.Recipients, &fc.recips); err != nil {
		return fmt.Errorf("notify: event %s: recipients: %w", eventID, err)
	}
	if fc.data, err = render.DecodeData(fc.ev.Data); err != nil {
		return fmt.Errorf("notify: event %s: data: %w", eventID, err)
	}
	if c := fc.typ.Channels.InApp; c != nil {
		fc.inApp = [3]string{c.Title, c.Body, c.URL}
		for _, src := range fc.inApp {
			if _, err := parseContent("in_app", src); err != nil {
				return err
			}
		}
	}
	fc.digestWindow = digestWindow(fc.typ)
	fc.actor = auth.Actor{Type: auth.ActorSystem, ID: "system", AllTenants: true, CorrelationID: fc.ev.CorrelationID}
	fc.before = make(map[string]bool, len(fc.recips))
	for _, r := range fc.recips[:min(fc.ev.FannedOut, len(fc.recips))] {
		fc.before[r.ID] = true
	}
	for {
		start := fc.ev.FannedOut
		end := min(start+chunk, len(fc.recips))
		var changes []FeedChange
		err := s.db.Write(ctx, func(tx *store.Tx) error {
			var err error
			changes, err = s.fanChunk(ctx, tx, &fc, start, end)
			return err
		})
		if errors.Is(err, errStaleChunk) {
			return fmt.Errorf("notify: event %s: fanned out elsewhere meanwhile; retrying", eventID)
		}
		if err != nil {
			return err
		}
		s.feedChanged(ctx, changes)
		for _, r := range fc.recips[start:end] {
			fc.before[r.ID] = true
		}
		fc.ev.FannedOut = end
		fc.chunkNo++
		if end >= len(fc.recips) {
			return nil
		}
		if failAfter > 0 && fc.chunkNo >= failAfter {
			return fmt.Errorf("notify: failing after %d chunks, as asked", fc.chunkNo)
		}
	}
}

// fanChunk handles recipients [start, end) of the event in tx and moves
// the event's fanned_out to end.
func (s *Service) fanChunk(ctx context.Context, tx *store.Tx, fc *fanCtx, start, end int) ([]FeedChange, error) {
	sc := tx.Tenant(fc.ev.TenantID)
	now := s.now()
	rs := fc.recips[start:end]
	// First claim the chunk: move fanned_out on from where this run found
	// it. The row stays locked (PostgreSQL; SQLite has one writer) until
	// this transaction ends, so another run of the event waits here and
	// then finds it moved on, and while this chunk runs the event's
	// notifications are exactly those of the committed chunks.
	claim := `UPDATE notify_events SET fanned_out = ?, status = ? WHERE tenant_id = ? AND id = ? AND fanned_out = ?`
	n, err := tx.Exec(ctx, claim, end, EventFanningOut, sc.TenantID(), fc.ev.ID, start)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, errStaleChunk
	}
	contacts, err := s.chunkContacts(ctx, sc, fc, rs, now)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(contacts))
	var again []string // contacts of recipients also in a committed chunk
	for i, c := range contacts {
		if c != nil {
			ids = append(ids, c.ID)
			if fc.before[rs[i].ID] {
				again = append(again, c.ID)
			}
		}
	}
	prefs, err := prefsMany(ctx, sc, ids)
	if err != nil {
		return nil, err
	}
	// Only those can have a notification of the event already (a
	// recipient id names one contact); usually there are none.
	done, err := notifiedAlready(ctx, sc, fc.ev.ID, again)
	if err != nil {
		return nil, err
	}
	if fc.found {
		if fc.digests, fc.digestFailed, err = s.digestAssign(ctx, tx, fc, contacts, done, prefs, now); err != nil {
			return nil, err
		}
	}
	rows := chunkRows{contacts: ids, memo: map[string]any{}}
	notified, skipped := 0, 0
	var skips [][2]string // recipient, reason
	for i, r := range rs {
		c := contacts[i]
		reason := ""
		switch {
		case c == nil:
			reason = ReasonUnknown
		case !fc.found:
			reason = "type_deleted"
		case done[c.ID]:
			reason = ReasonDuplicate
		}
		if reason != "" {
			skips = append(skips, [2]string{r.ID, reason})
			skipped++
			continue
		}
		done[c.ID] = true
		if err := s.notifyOne(ctx, tx, sc, fc, *c, prefs[c.ID], now, &rows); err != nil {
			return nil, err
		}
		notified++
	}
	// The skips, one row per recipient (a recipient skipped twice keeps
	// its first reason).
	if err := insertRowsThen(ctx, tx, "INSERT INTO notify_event_skips (event_id, tenant_id, recipient, reason)",
		" ON CONFLICT (event_id, recipient) DO NOTHING", 4, len(skips), func(i int) []any {
			return []any{fc.ev.ID, sc.TenantID(), skips[i][0], skips[i][1]}
		}); err != nil {
		return nil, err
	}
	if len(rows.jobs) > 0 {
		params := batchPushJobs(sc.TenantID(), fc.ev.CorrelationID, rows.jobs)
		if _, err := s.jobs.EnqueueManyTx(ctx, tx, sc.TenantID(), params, fc.ev.CorrelationID); err != nil {
			return nil, err
		}
	}
	changes, err := writeRows(ctx, tx, sc.TenantID(), &rows, now)
	if err != nil {
		return nil, err
	}
	// The recipients stay as given until the last chunk, which clears them
	// (the notifications and skips record them from then on).
	q := `UPDATE notify_events SET notified = notified + ?, skipped = skipped + ?`
	args := []any{notified, skipped}
	if end >= len(fc.recips) {
		q += `, status = ?, recipients = '[]', completed_at = ?`
		args = append(args, EventDone, now)
	}
	if _, err := tx.Exec(ctx, q+` WHERE tenant_id = ? AND id = ?`, append(args, sc.TenantID(), fc.ev.ID)...); err != nil {
		return nil, err
	}
	return changes, nil
}

// chunkContacts finds the chunk's contacts (one query), creating or
// updating inline recipients; an unknown id is nil.
func (s *Service) chunkContacts(ctx context.Context, sc *store.Scope, fc *fanCtx, rs []recipient, now time.Time) ([]*store.Contact, error) {
	exts := make([]string, len(rs))
	for i, r := range rs {
		exts[i] = r.ID
	}
	q, args := byKeys(sc.Tx(), store.ContactCols, "contacts", "external_id", sc.TenantID(), exts, "")
	rows, err := sc.Tx().Query(ctx, q, args...)
	list, err := store.Collect(rows, err, func(r store.Rows) (store.Contact, error) { return store.ScanContact(r) })
	if err != nil {
		return nil, err
	}
	byExt := make(map[string]*store.Contact, len(list))
	for i := range list {
		byExt[list[i].ExternalID] = &list[i]
	}
	out := make([]*store.Contact, len(rs))
	var created, updated []string // external ids, each once
	state := map[string]bool{}    // external id: true created, false updated
	var tl []store.TimelineEntry
	for i, r := range rs {
		c := byExt[r.ID]
		if r.Inline {
			var isNew bool
			var changed []string
			c, isNew, changed = upsertInline(sc, c, r, now)
			byExt[r.ID] = c
			if _, seen := state[r.ID]; !seen && (isNew || len(changed) > 0) {
				state[r.ID] = isNew
				if isNew {
					created = append(created, r.ID)
				} else {
					updated = append(updated, r.ID)
				}
			}
			e := store.TimelineEntry{ID: store.NewID(store.PrefixTimeline), ContactID: c.ID, Kind: "contact.created",
				Summary: "Contact created (an event's recipient)", RefType: "contact", RefID: c.ID, CorrelationID: fc.ev.CorrelationID, CreatedAt: now}
			if !isNew {
				e.Kind, e.Summary = "contact.updated", "Contact updated: "+strings.Join(changed, ", ")
			}
			if isNew || len(changed) > 0 {
				tl = append(tl, e)
			}
		}
		out[i] = c
	}
	// New contacts, as store.Scope.ContactInsert writes them, many at once,
	// and the changed ones, as PUT /v1/contacts/{contact} does, each with
	// its last values (a recipient given twice in a chunk).
	if err := insertRows(ctx, sc.Tx(), "INSERT INTO contacts ("+store.ContactCols+")", 10, len(created), func(i int) []any {
		c := byExt[created[i]]
		return []any{c.ID, sc.TenantID(), c.ExternalID, c.Email, c.Name, c.Locale, c.Timezone, c.Metadata, c.CreatedAt, c.UpdatedAt}
	}); err != nil {
		return nil, err
	}
	for lo := 0; lo < len(updated); lo += rowsPer(4) {
		batch := updated[lo:min(lo+rowsPer(4), len(updated))]
		args := make([]any, 0, 4*len(batch)+2)
		for _, ext := range batch {
			c := byExt[ext]
			args = append(args, c.ID, c.Email, c.Name, c.Locale)
		}
		q := "WITH v (id, email, name, locale) AS (VALUES (?, ?, ?, ?)" + strings.Repeat(", (?, ?, ?, ?)", len(batch)-1) + `)
			UPDATE contacts SET email = v.email, name = v.name, locale = v.locale, updated_at = ? FROM v WHERE contacts.tenant_id = ? AND contacts.id = v.id`
		if _, err := sc.Tx().Exec(ctx, q, append(args, now, sc.TenantID())...); err != nil {
			return nil, err
		}
	}
	if err := timelineAddMany(ctx, sc, tl); err != nil {
		return nil, err
	}
	return out, nil
}

// upsertInline makes the contact of an inline recipient: new (isNew,
// for the caller to insert with its contact.created entry), or with the
// fields it gives changed (named in changed, for the caller to update with
// a contact.updated entry, as PUT /v1/contacts/{contact} writes), or c
// itself when it changes nothing.
func upsertInline(sc *store.Scope, c *store.Contact, r recipient, now time.Time) (_ *store.Contact, isNew bool, changed []string) {
	set := func(dst *string, v *string, name string, changed *[]string) {
		if v != nil && *dst != *v {
			*dst = *v
			*changed = append(*changed, name)
		}
	}
	if c == nil {
		n := store.Contact{ID: store.NewID(store.PrefixContact), TenantID: sc.TenantID(), ExternalID: r.ID, Metadata: json.RawMessage("{}"),
			CreatedAt: now, UpdatedAt: now}
		var ignored []string
		set(&n.Email, r.Email, "email", &ignored)
		set(&n.Name, r.Name, "name", &ignored)
		set(&n.Locale, r.Locale, "locale", &ignored)
		return &n, true, nil
	}
	u := *c
	set(&u.Email, r.Email, "email", &changed)
	set(&u.Name, r.Name, "name", &changed)
	set(&u.Locale, r.Locale, "locale", &changed)
	if len(changed) == 0 {
		return c, false, nil
	}
	u.UpdatedAt = now
	return &u, false, changed
}
