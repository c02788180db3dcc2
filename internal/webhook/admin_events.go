package webhook

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/joist-dev/joist/internal/admin"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/store"
)

// maxBulkReplay is how many events one "Replay all matching" click
// replays (the service's ReplayMany takes as many).
const maxBulkReplay = 1000

// eventQuery is the events list's filter, as given in the query or the
// bulk replay form.
type eventQuery struct {
	Source, Type, ID, Status string
}

func eventFilterOf(v url.Values) eventQuery {
	return eventQuery{Source: strings.TrimSpace(v.Get("source")), Type: strings.TrimSpace(v.Get("type")),
		ID: strings.TrimSpace(v.Get("id")), Status: strings.TrimSpace(v.Get("status"))}
}

func (f eventQuery) store() EventFilter {
	sf := EventFilter{Source: f.Source, Type: f.Type, ProviderEventID: f.ID}
	if f.Status != "" {
		sf.Statuses = []string{f.Status}
	}
	return sf
}

// Narrowed says whether anything but the status narrows the list.
func (f eventQuery) Narrowed() bool { return f.Source != "" || f.Type != "" || f.ID != "" }

// url is the events list's URL for the filter, with extra query pairs.
func (f eventQuery) url(slug string, extra ...string) string {
	q := url.Values{}
	for k, v := range map[string]string{"source": f.Source, "type": f.Type, "id": f.ID, "status": f.Status} {
		if v != "" {
			q.Set(k, v)
		}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	u := "/admin/tenants/" + url.PathEscape(slug) + "/webhooks/events"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// eventRow is an event as the pages show it.
type eventRow struct{ Event }

// Badge is the badge class of the event's status.
func (e eventRow) Badge() string {
	switch e.Status {
	case "delivered":
		return "ok"
	case "dead":
		return "revoked"
	}
	return ""
}

type eventsData struct {
	Tenant   store.Tenant
	Filter   eventQuery
	Tabs     []admin.Tab // "all", then EventStatuses
	Sources  []string
	Events   []eventRow
	Next     string
	CanWrite bool
	Max      int
}

func (p *webhooksPages) eventsData(r *http.Request, op *admin.Op, t store.Tenant, f eventQuery, cursor string) (eventsData, error) {
	d := eventsData{Tenant: t, Filter: f, CanWrite: canReplay(op), Max: maxBulkReplay}
	// List first: an unknown status is a 400 before anything else is read.
	list, next, err := p.svc.ListEvents(r.Context(), op.Actor, t.ID, store.Page{Limit: 50, Cursor: cursor}, f.store())
	if err != nil {
		return d, err
	}
	for _, ev := range list {
		d.Events = append(d.Events, eventRow{ev})
	}
	if next != "" {
		d.Next = f.url(t.Slug, "cursor", next)
	}
	d.Tabs = admin.FilterTabs(EventStatuses, f.Status, func(st string) string {
		tf := f
		tf.Status = st
		return tf.url(t.Slug)
	})
	srcs, err := p.svc.ListSources(r.Context(), op.Actor, t.ID)
	if err != nil {
		return d, err
	}
	for _, s := range srcs {
		d.Sources = append(d.Sources, s.Name)
	}
	return d, nil
}

func (p *webhooksPages) events(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	t, err := p.a.Tenant(r, op)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	d, err := p.eventsData(r, op, t, eventFilterOf(q), q.Get("cursor"))
	if err != nil {
		return err
	}
	return p.a.RenderFlash(w, r, op, http.StatusOK, "webhooks_events.html", d, replayedFlash(q))
}

// replayedFlash is the message after a bulk replay, from the numbers the
// redirect carries (no free text travels in the URL).
func replayedFlash(q url.Values) string {
	if q.Get("flash") != "webhooks_replayed" {
		return ""
	}
	n, _ := strconv.Atoi(q.Get("n"))
	msg := fmt.Sprintf("%d %s queued for delivery again, each with its own webhook-id.", n, admin.Plural(n, "event was", "events were"))
	if s, _ := strconv.Atoi(q.Get("skipped")); s > 0 {
		msg += fmt.Sprintf(" %d %s left alone: %s no forward URL.", s, admin.Plural(s, "was", "were"), admin.Plural(s, "its source has", "their sources have"))
	}
	if q.Get("more") == "1" {
		msg += fmt.Sprintf(" More events match than one bulk replay takes (%d): replay again for the rest.", maxBulkReplay)
	}
	return msg
}

// replayMany replays every event matching the form's filter (up to
// maxBulkReplay), each through the service (checked and audited one by
// one). Events whose source has no forward URL are skipped and counted.
func (p *webhooksPages) replayMany(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	t, err := p.a.Tenant(r, op)
	if err != nil {
		return err
	}
	// Refused before anything is read or changed (403 without jobs.write).
	if err := p.a.Core().TenantAccess(op.Actor, t.ID, auth.PermJobsWrite); err != nil {
		return err
	}
	f := eventFilterOf(r.PostForm)
	list, next, err := p.svc.ListEvents(r.Context(), op.Actor, t.ID, store.Page{Limit: maxBulkReplay}, f.store())
	if err != nil {
		return err
	}
	n, skipped := 0, 0
	for _, ev := range list {
		_, err := p.svc.Replay(r.Context(), op.Actor, t.ID, ev.ID)
		var ce *core.Error
		switch {
		case err == nil:
			n++
		case errors.As(err, &ce) && ce.Code == "no_forward_url":
			skipped++
		case n == 0 && skipped == 0:
			return err
		default:
			d, derr := p.eventsData(r, op, t, f, "")
			if derr != nil {
				return derr
			}
			return p.a.RenderError(w, r, op, http.StatusInternalServerError, "webhooks_events.html", d,
				fmt.Sprintf("%d %s replayed, then the replay stopped: %s", n, admin.Plural(n, "event was", "events were"), admin.Message(err)))
		}
	}
	extra := []string{"flash", "webhooks_replayed", "n", strconv.Itoa(n), "skipped", strconv.Itoa(skipped)}
	if next != "" {
		extra = append(extra, "more", "1")
	}
	return admin.Redirect(w, r, f.url(t.Slug, extra...))
}

type eventData struct {
	Tenant    store.Tenant
	Event     eventRow
	Headers   []header
	Body      string
	Binary    bool      // the body is not UTF-8 text: shown with escapes
	Job       *jobs.Row // the forward job, when there is one and it is kept
	JobNote   string    // why there is no job to show
	CanReplay bool
	Jobs      bool // the jobs pages exist (links to the job)
}

func (p *webhooksPages) eventData(r *http.Request, op *admin.Op, id string) (eventData, error) {
	t, err := p.a.Tenant(r, op)
	if err != nil {
		return eventData{}, err
	}
	ev, err := p.svc.GetEvent(r.Context(), op.Actor, t.ID, id)
	if err != nil {
		return eventData{}, err
	}
	d := eventData{Tenant: t, Event: eventRow{ev}, Headers: headersOf(ev.Headers), CanReplay: canReplay(op), Jobs: p.jobs != nil}
	if utf8.Valid(ev.Body) {
		d.Body = string(ev.Body)
	} else {
		d.Body, d.Binary = strconv.Quote(string(ev.Body)), true
	}
	switch {
	case ev.ForwardJobID == "":
		d.JobNote = "Not forwarded: the source had no forward URL, or does not forward this event type."
	case p.jobs == nil:
		d.JobNote = "The jobs pages are not enabled on this dashboard."
	default:
		j, err := p.jobs.Get(r.Context(), op.Actor, t.ID, ev.ForwardJobID)
		switch {
		case errors.Is(err, core.ErrNotFound):
			d.JobNote = "The forward job is no longer kept."
		case err != nil:
			return eventData{}, err
		default:
			d.Job = &jobs.Row{Job: j}
		}
	}
	return d, nil
}

func (p *webhooksPages) event(w http.ResponseWriter, r *http.Request, op *admin.Op, id string) error {
	d, err := p.eventData(r, op, id)
	if err != nil {
		return err
	}
	return p.a.Render(w, r, op, http.StatusOK, "webhooks_event.html", d)
}

// replay delivers one event again and comes back to it with a message, or
// shows it again with the reason (e.g. no forward URL, 400).
func (p *webhooksPages) replay(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	t, err := p.a.Tenant(r, op)
	if err != nil {
		return err
	}
	id := r.PathValue("event")
	if _, err := p.svc.Replay(r.Context(), op.Actor, t.ID, id); err != nil {
		if !errors.Is(err, core.ErrInvalid) && !errors.Is(err, core.ErrConflict) {
			return err
		}
		d, derr := p.eventData(r, op, id)
		if derr != nil {
			return derr
		}
		return p.a.RenderForm(w, r, op, "webhooks_event.html", d, err)
	}
	return admin.Redirect(w, r, "/admin/tenants/"+url.PathEscape(t.Slug)+"/webhooks/events/"+url.PathEscape(id)+"?flash=webhook_replayed")
}
