package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/riverqueue/river"

	"github.com/joist-dev/joist/internal/email/render"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// maxContent bounds a rendered in-app title, body or URL.
const maxContent = 16 << 10

// chunkRows are the rows one chunk writes, gathered so that each table
// gets one multi-row insert per chunk instead of one per recipient.
type chunkRows struct {
	notes    []Notification
	dels     []Delivery
	timeline []store.TimelineEntry
	// jobs are the channels' send jobs (push), inserted with one batch
	// per chunk.
	jobs []river.InsertManyParams
	// contacts are the ids of the chunk's contacts being notified, and
	// memo the channels' lookups for all of them (PlanInput.Chunk, Memo).
	contacts []string
	memo     map[string]any
}

// notifyOne plans one contact's notification and its deliveries (the
// email and push channels enqueue their jobs in tx as they decide) and
// the timeline entry summarizing them, into rows.
func (s *Service) notifyOne(ctx context.Context, tx *store.Tx, sc *store.Scope, fc *fanCtx, c store.Contact, o wire.NotificationPreferencesPut,
	now time.Time, rows *chunkRows) error {
	t := fc.typ
	var rootMap map[string]any
	root := func() map[string]any {
		if rootMap == nil {
			rootMap = contextMap(fc, c)
		}
		return rootMap
	}
	renderSrc := func(src string) (string, error) { return fc.content("content", src, root) }
	n := Notification{ID: store.NewID("ntf_"), TenantID: sc.TenantID(), EventID: fc.ev.ID, ContactID: c.ID, Type: t.Name, Group: t.Group,
		Critical: t.Critical, Data: fc.ev.Data, CorrelationID: fc.ev.CorrelationID, CreatedAt: now, UpdatedAt: now}
	var ds []Delivery
	add := func(id, ch string, out Outcome) {
		if id == "" {
			id = store.NewID("ndl_")
		}
		ds = append(ds, Delivery{ID: id, TenantID: sc.TenantID(), NotificationID: n.ID, ContactID: c.ID, Channel: ch, Status: out.Status,
			Reason: out.Reason, Detail: store.SafeText(out.Detail), Target: out.Target, CreatedAt: now, UpdatedAt: now})
	}
	if t.Has(ChannelInApp) {
		if on, _ := Decide(t, o, ChannelInApp); !on {
			add("", ChannelInApp, Skipped(ReasonMuted))
		} else {
			var err error
			parts := [3]string{}
			for i, src := range fc.inApp {
				if parts[i], err = fc.content("in_app", src, root); err != nil {
					break
				}
			}
			if err == nil {
				err = checkURL(parts[2])
			}
			if err != nil {
				add("", ChannelInApp, Outcome{Status: StatusFailed, Detail: err.Error()})
			} else {
				n.Title, n.Body, n.URL, n.InFeed = parts[0], parts[1], parts[2], true
				add("", ChannelInApp, Outcome{Status: StatusDelivered})
			}
		}
	}
	for _, ch := range Channels[1:] {
		if !t.Has(ch) {
			continue
		}
		if on, _ := Decide(t, o, ch); !on {
			add("", ch, Skipped(ReasonMuted))
			continue
		}
		impl, ok := s.channels[ch]
		if !ok {
			add("", ch, Skipped(ReasonNotConfigured))
			continue
		}
		if s.digested(fc, ch) {
			if id := fc.digests[c.ID]; id != "" {
				n.DigestID = id
				add("", ch, Outcome{Status: StatusSkipped, Reason: ReasonDigested, Target: id})
				continue
			}
			if why := fc.digestFailed[c.ID]; why != "" {
				add("", ch, Outcome{Status: StatusFailed, Detail: why})
				continue
			}
		}
		id := store.NewID("ndl_")
		out, err := impl.Plan(ctx, PlanInput{Tx: tx, Actor: fc.actor, TenantID: sc.TenantID(), Event: fc.ev, Type: t, Contact: c, Data: fc.ev.Data,
			Notification: n.ID, Delivery: id, Render: renderSrc, Enqueue: func(p river.InsertManyParams) { rows.jobs = append(rows.jobs, p) },
			Chunk: rows.contacts, Memo: rows.memo})
		if err != nil {
			return fmt.Errorf("notify: %s channel: %w", ch, err)
		}
		add(id, ch, out)
	}
	// One timeline entry per notification, naming every channel's outcome
	// (cheap for 10,000 recipients); a channel's later outcome (sent,
	// failed) adds its own entry.
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.Channel + " " + d.Status
		if d.Reason != "" {
			parts[i] += " (" + d.Reason + ")"
		}
	}
	summary := "Notification " + t.Name
	if len(parts) > 0 {
		summary += ": " + strings.Join(parts, ", ")
	}
	rows.notes = append(rows.notes, n)
	rows.dels = append(rows.dels, ds...)
	rows.timeline = append(rows.timeline, store.TimelineEntry{ID: store.NewID(store.PrefixTimeline), ContactID: c.ID, Kind: "notification.created",
		Summary: store.SafeText(summary), RefType: "notification", RefID: n.ID, CorrelationID: fc.ev.CorrelationID, CreatedAt: now})
	return nil
}

// contextMap is the content templates' root, as email templates see it:
// {{.data}}, {{.contact}} and {{.tenant}}, maps all the way down so that a
// missing name is an error under missingkey=error.
func contextMap(fc *fanCtx, c store.Contact) map[string]any {
	meta, err := render.DecodeData(c.Metadata)
	if err != nil {
		meta = map[string]any{}
	}
	return map[string]any{
		"data":   fc.data,
		"tenant": fc.tenant,
		"contact": map[string]any{"external_id": c.ExternalID, "email": c.Email, "name": c.Name, "locale": c.Locale, "timezone": c.Timezone,
			"metadata": meta},
	}
}

type capWriter struct {
	b   strings.Builder
	max int
}

func (w *capWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.max {
		return 0, fmt.Errorf("rendered content larger than %d bytes", w.max)
	}
	return w.b.Write(p)
}

// execContent renders one content template; the result is stored, so it
// is made safe text.
func execContent(t *texttemplate.Template, root map[string]any) (string, error) {
	w := &capWriter{max: maxContent}
	if err := t.Execute(w, root); err != nil {
		return "", err
	}
	return store.SafeText(w.b.String()), nil
}

// prefsMany reads the overrides of the given contacts (one query).
func prefsMany(ctx context.Context, sc *store.Scope, contactIDs []string) (map[string]wire.NotificationPreferencesPut, error) {
	out := map[string]wire.NotificationPreferencesPut{}
	if len(contactIDs) == 0 {
		return out, nil
	}
	q, args := byKeys(sc.Tx(), "contact_id, overrides", "notify_preferences", "contact_id", sc.TenantID(), contactIDs, "")
	rows, err := sc.Tx().Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var raw []byte
		if err := rows.Scan(&id, &raw); err != nil {
			return nil, err
		}
		var o wire.NotificationPreferencesPut
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, err
		}
		out[id] = o
	}
	return out, rows.Err()
}

// notifiedAlready names the contacts among ids that already have a
// notification of the event (one query).
func notifiedAlready(ctx context.Context, sc *store.Scope, eventID string, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	// (event_id, contact_id) is unique.
	q, args := byKeys(sc.Tx(), "contact_id", "notifications", "contact_id", sc.TenantID(), ids, "event_id = ?", eventID)
	rows, err := sc.Tx().Query(ctx, q, args...)
	list, err := store.Collect(rows, err, func(r store.Rows) (string, error) {
		var s string
		return s, r.Scan(&s)
	})
	for _, id := range list {
		out[id] = true
	}
	return out, err
}

// checkURL refuses a rendered in-app URL a browser would run or leave the
// app for oddly: it must be empty, a path ("/bookings/1") or an http(s)
// URL, so a feed can put it in a link as it is.
func checkURL(s string) error {
	if s == "" || (strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//") && !strings.HasPrefix(s, "/\\")) {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("the in-app url %s is neither a path (/...) nor an http(s) URL", quote(s))
	}
	return nil
}
