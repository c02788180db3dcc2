package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/email/render"
	"github.com/joist-dev/joist/internal/store"
)

// maxDigestEvents bounds the events a digest lists in its content (its
// count is always the whole number).
const maxDigestEvents = 100

// DigestInfo is what a Channel planning a digest's delivery is told
// (PlanInput.Digest): the digest, how many notifications it gathers, and
// a line for each of the first of them, oldest first: its rendered in-app
// body, or its title when it has no body.
type DigestInfo struct {
	ID    string
	Count int
	Lines []string
}

// Digest is a stored digest.
type Digest struct {
	ID, TenantID, ContactID, Type, Key, Status string
	Count                                      int
	WindowStart, WindowEnd                     time.Time
	JobID, CorrelationID                       string
	CreatedAt, UpdatedAt                       time.Time
	SentAt                                     *time.Time
}

const digestCols = `id, tenant_id, contact_id, type, digest_key, status, count, window_start, window_end, job_id, correlation_id, created_at,
	updated_at, sent_at`

func scanDigest(r store.Row) (Digest, error) {
	var d Digest
	return d, r.Scan(&d.ID, &d.TenantID, &d.ContactID, &d.Type, &d.Key, &d.Status, &d.Count, &d.WindowStart, &d.WindowEnd, &d.JobID,
		&d.CorrelationID, &d.CreatedAt, &d.UpdatedAt, &d.SentAt)
}

// digestEvent is one gathered notification as a digest's content lists it.
type digestEvent struct {
	notification, event, title, body, url string
	data                                  json.RawMessage
	at                                    time.Time
}

// digestSend closes a digest (open or closed -> sent, guarded so that
// only one run does it, however many times the job runs) and, in the same
// transaction, plans one delivery per channel its notifications were
// digested on, through the channels as a notification's deliveries are.
func (s *Service) digestSend(ctx context.Context, tenantID, digestID string) error {
	now := s.now()
	return s.db.Write(ctx, func(tx *store.Tx) error {
		sc := tx.Tenant(tenantID)
		n, err := tx.Exec(ctx, `UPDATE notification_digests SET status = 'sent', sent_at = ?, updated_at = ? WHERE tenant_id = ? AND id = ?
			AND status <> 'sent'`, now, now, tenantID, digestID)
		if err != nil || n == 0 {
			return err // sent already (or gone): nothing to do
		}
		d, err := scanDigest(tx.QueryRow(ctx, "SELECT "+digestCols+" FROM notification_digests WHERE tenant_id = ? AND id = ?", tenantID, digestID))
		if err != nil {
			return err
		}
		evs, total, err := digestEvents(ctx, sc, d.ID)
		if err != nil || total == 0 {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT DISTINCT d.channel FROM notification_deliveries d JOIN notifications n ON n.id = d.notification_id
			WHERE n.tenant_id = ? AND n.digest_id = ? AND d.reason = ?`, tenantID, d.ID, ReasonDigested)
		chans, err := store.Collect(rows, err, func(r store.Rows) (string, error) {
			var c string
			return c, r.Scan(&c)
		})
		if err != nil {
			return err
		}
		outs, err := s.digestPlan(ctx, tx, sc, d, evs, total, chans)
		if err != nil {
			return err
		}
		var parts []string
		for _, ch := range Channels[1:] {
			out, ok := outs[ch]
			if !ok {
				continue
			}
			if _, err := tx.Exec(ctx, `INSERT INTO notification_digest_deliveries (id, tenant_id, digest_id, contact_id, channel, status, reason, detail,
				target, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, out.id, tenantID, d.ID, d.ContactID, ch, out.Status,
				out.Reason, store.SafeText(out.Detail), out.Target, now, now); err != nil {
				return err
			}
			p := ch + " " + out.Status
			if out.Reason != "" {
				p += " (" + out.Reason + ")"
			}
			parts = append(parts, p)
		}
		summary := fmt.Sprintf("Digest of %d %s notifications", total, d.Type)
		if len(parts) > 0 {
			summary += ": " + strings.Join(parts, ", ")
		}
		return sc.TimelineAdd(ctx, store.TimelineEntry{ContactID: d.ContactID, Kind: "notification.digest", Summary: store.SafeText(summary),
			RefType: "notification_digest", RefID: d.ID, CorrelationID: d.CorrelationID, CreatedAt: now})
	})
}

type digestOutcome struct {
	Outcome
	id string
}

// digestPlan decides each digested channel's delivery: the contact's
// preferences as they are now (a channel muted during the window is
// skipped muted), then the channel's Plan with the digest's content.
func (s *Service) digestPlan(ctx context.Context, tx *store.Tx, sc *store.Scope, d Digest, evs []digestEvent, total int,
	chans []string) (map[string]digestOutcome, error) {
	outs := map[string]digestOutcome{}
	all := func(o Outcome) {
		for _, ch := range chans {
			outs[ch] = digestOutcome{o, store.NewID("ndl_")}
		}
	}
	typ, err := typeFind(ctx, sc, d.Type)
	if errors.Is(err, store.ErrNotFound) {
		all(Skipped("type_deleted"))
		return outs, nil
	}
	if err != nil {
		return nil, err
	}
	c, err := sc.ContactGetByID(ctx, d.ContactID)
	if errors.Is(err, store.ErrNotFound) {
		all(Skipped(ReasonUnknown))
		return outs, nil
	}
	if err != nil {
		return nil, err
	}
	prefs, err := prefsGet(ctx, sc, c.ID)
	if err != nil {
		return nil, err
	}
	last := evs[len(evs)-1]
	ev, err := eventGet(ctx, sc, last.event, false)
	if err != nil {
		return nil, err
	}
	fc := fanCtx{ev: ev, typ: typ}
	if fc.data, err = render.DecodeData(last.data); err != nil {
		return nil, err
	}
	tn, err := sc.Tx().TenantGet(ctx, sc.TenantID())
	if err != nil {
		return nil, err
	}
	fc.tenant = map[string]any{"slug": tn.Slug, "name": tn.Name}
	root := contextMap(&fc, c)
	// The digest's data: the latest event's data with "digest" added.
	list := make([]any, len(evs))
	info := DigestInfo{ID: d.ID, Count: total}
	for i, e := range evs {
		var ed any
		_ = json.Unmarshal(e.data, &ed) // stored as a JSON object
		list[i] = map[string]any{"event": e.event, "notification": e.notification, "title": e.title, "body": e.body, "url": e.url,
			"data": ed, "created_at": e.at.UTC().Format(time.RFC3339)}
		line := e.body
		if line == "" {
			line = e.title
		}
		info.Lines = append(info.Lines, line)
	}
	data := map[string]any{}
	for k, v := range fc.data {
		data[k] = v
	}
	data["digest"] = map[string]any{"id": d.ID, "count": total, "key": d.Key, "events": list,
		"window_start": d.WindowStart.UTC().Format(time.RFC3339), "window_end": d.WindowEnd.UTC().Format(time.RFC3339)}
	raw := jsonOf(data)
	renderSrc := func(src string) (string, error) {
		tp, err := parseContent("content", src)
		if err != nil {
			return "", err
		}
		return execContent(tp, root)
	}
	actor := auth.Actor{Type: auth.ActorSystem, ID: "system", AllTenants: true, CorrelationID: d.CorrelationID}
	for _, ch := range chans {
		id := store.NewID("ndl_")
		if !typ.Has(ch) {
			outs[ch] = digestOutcome{Skipped("channel_removed"), id}
			continue
		}
		if on, _ := Decide(typ, prefs, ch); !on {
			outs[ch] = digestOutcome{Skipped(ReasonMuted), id}
			continue
		}
		impl, ok := s.channels[ch]
		if !ok {
			outs[ch] = digestOutcome{Skipped(ReasonNotConfigured), id}
			continue
		}
		out, err := impl.Plan(ctx, PlanInput{Tx: sc.Tx(), Actor: actor, TenantID: sc.TenantID(), Event: ev, Type: typ, Contact: c, Data: raw,
			Notification: last.notification, Delivery: id, Render: renderSrc, Digest: &info})
		if err != nil {
			return nil, fmt.Errorf("notify: digest %s: %s channel: %w", d.ID, ch, err)
		}
		outs[ch] = digestOutcome{out, id}
	}
	return outs, nil
}

// digestEvents lists a digest's first maxDigestEvents notifications and
// its latest (last in the list), oldest first, and counts them all.
func digestEvents(ctx context.Context, sc *store.Scope, digestID string) ([]digestEvent, int, error) {
	var total int
	if err := sc.Tx().QueryRow(ctx, "SELECT COUNT(*) FROM notifications WHERE tenant_id = ? AND digest_id = ?", sc.TenantID(), digestID).
		Scan(&total); err != nil || total == 0 {
		return nil, 0, err
	}
	const cols = "id, event_id, title, body, url, data, created_at FROM notifications WHERE tenant_id = ? AND digest_id = ?"
	scan := func(r store.Rows) (digestEvent, error) {
		var e digestEvent
		var data []byte
		err := r.Scan(&e.notification, &e.event, &e.title, &e.body, &e.url, &data, &e.at)
		e.data = data
		return e, err
	}
	rows, err := sc.Tx().Query(ctx, "SELECT "+cols+" ORDER BY id LIMIT ?", sc.TenantID(), digestID, maxDigestEvents)
	evs, err := store.Collect(rows, err, scan)
	if err != nil {
		return nil, 0, err
	}
	if total > len(evs) {
		rows, err := sc.Tx().Query(ctx, "SELECT "+cols+" ORDER BY id DESC LIMIT 1", sc.TenantID(), digestID)
		last, err := store.Collect(rows, err, scan)
		if err != nil {
			return nil, 0, err
		}
		evs = append(evs, last...)
	}
	return evs, total, nil
}

// digestPushBody is a push's body for a digest of several: the first
// three of its lines, then how many more.
func digestPushBody(d *DigestInfo) string {
	var lines []string
	for _, t := range d.Lines {
		if len(lines) == 3 {
			break
		}
		if t != "" {
			lines = append(lines, t)
		}
	}
	if more := d.Count - len(lines); more > 0 {
		lines = append(lines, fmt.Sprintf("and %d more", more))
	}
	return strings.Join(lines, "\n")
}
