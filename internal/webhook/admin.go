package webhook

import (
	"embed"
	"encoding/json"
	"net/http"
	"slices"

	"github.com/joist-dev/joist/internal/admin"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/store"
)

// The inbound webhooks pages live under the tenant, like the jobs pages:
//
//	GET  /admin/tenants/{tenant}/webhooks                       sources: ingest URL (copy button), forward URL, secret hints
//	GET  /admin/tenants/{tenant}/webhooks/events                events by source, type, provider event id, status
//	POST /admin/tenants/{tenant}/webhooks/events/replay         replay every event matching the filter
//	GET  /admin/tenants/{tenant}/webhooks/events/{event}        one event: headers, raw body, verification, delivery attempts
//	POST /admin/tenants/{tenant}/webhooks/events/{event}/replay deliver it again (same webhook-id)
//	GET  /admin/tenants/{tenant}/webhooks/{source}/rejections   requests the source refused
//
// Every read and action goes through Service with the operator as
// the actor: it checks reach and the jobs.write permission (replays) and
// writes the webhook_event.replay audit entry in the transaction of the
// replay. A delivery's attempts are those of the event's forward job,
// read through jobs.Service.

// webhooksPages serves the webhooks section with the services it was given.
type webhooksPages struct {
	a    *admin.Admin
	svc  *Service
	jobs *jobs.Service // nil: no attempts, no job links
}

//go:embed pages
var pagesFS embed.FS

// AdminSection is the inbound webhooks part of the dashboard: each
// tenant's (and the instance's) sources, rejected requests, events with
// their forward's attempts, and replay.
func (s *Service) AdminSection() admin.SectionFunc {
	return func(a *admin.Admin) admin.Section {
		return s.adminSection(a)
	}
}

func (s *Service) adminSection(a *admin.Admin) admin.Section {
	p := &webhooksPages{a: a, svc: s, jobs: s.jobs}
	return admin.Section{Name: "webhook", Templates: admin.Sub(pagesFS, "pages"),
		Flashes:     map[string]string{"webhook_replayed": "The event was queued for delivery again, with the same webhook-id."},
		TenantLinks: []admin.TenantLink{{Label: "Webhooks", Path: "/webhooks", ID: "tenant-webhooks", Instance: true}},
		Routes: map[string]admin.HandlerFunc{
			"GET /admin/tenants/{tenant}/webhooks":                        p.sources,
			"GET /admin/tenants/{tenant}/webhooks/events":                 p.events,
			"POST /admin/tenants/{tenant}/webhooks/events/replay":         p.replayMany,
			"POST /admin/tenants/{tenant}/webhooks/events/{event}/replay": p.replay,
			// One pattern for events/{event} and {source}/rejections: as two
			// they would overlap (a source may be named "events").
			"GET /admin/tenants/{tenant}/webhooks/{a}/{b}": p.twoSegments,
		}}
}

func (p *webhooksPages) twoSegments(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	a, b := r.PathValue("a"), r.PathValue("b")
	switch {
	case b == "rejections":
		return p.rejections(w, r, op, a)
	case a == "events":
		return p.event(w, r, op, b)
	}
	return core.NotFound("there is no dashboard page at %s", r.URL.Path)
}

// sourceRow is a source as the sources page shows it.
type sourceRow struct {
	Source
	Secrets []secretHint
}

type secretHint struct {
	Hint      string
	ExpiresAt string // "" when it does not expire
}

func newSourceRow(s Source) sourceRow {
	row := sourceRow{Source: s}
	for _, sec := range s.Settings.Secrets {
		h := secretHint{Hint: sec.Hint}
		if sec.ExpiresAt != nil {
			h.ExpiresAt = sec.ExpiresAt.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		row.Secrets = append(row.Secrets, h)
	}
	return row
}

type sourcesData struct {
	Tenant  store.Tenant
	Sources []sourceRow
}

func (p *webhooksPages) sources(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	t, err := p.a.Tenant(r, op)
	if err != nil {
		return err
	}
	list, err := p.svc.ListSources(r.Context(), op.Actor, t.ID)
	if err != nil {
		return err
	}
	d := sourcesData{Tenant: t}
	for _, s := range list {
		d.Sources = append(d.Sources, newSourceRow(s))
	}
	return p.a.Render(w, r, op, http.StatusOK, "webhooks.html", d)
}

// header is one header of a stored request.
type header struct{ Name, Value string }

// headersOf decodes stored headers (a JSON object of strings) sorted by
// name; anything else is shown as one raw line.
func headersOf(raw json.RawMessage) []header {
	if len(raw) == 0 {
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		return []header{{Name: "(raw)", Value: string(raw)}}
	}
	out := make([]header, 0, len(m))
	for k, v := range m {
		out = append(out, header{Name: k, Value: v})
	}
	slices.SortFunc(out, func(a, b header) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out
}

type rejectionRow struct {
	Rejection
	HeaderList []header
}

type rejectionsData struct {
	Tenant     store.Tenant
	Source     sourceRow
	Rejections []rejectionRow
}

func (p *webhooksPages) rejections(w http.ResponseWriter, r *http.Request, op *admin.Op, name string) error {
	t, err := p.a.Tenant(r, op)
	if err != nil {
		return err
	}
	src, err := p.svc.GetSource(r.Context(), op.Actor, t.ID, name)
	if err != nil {
		return err
	}
	list, err := p.svc.Rejections(r.Context(), op.Actor, t.ID, name)
	if err != nil {
		return err
	}
	d := rejectionsData{Tenant: t, Source: newSourceRow(src)}
	for _, x := range list {
		d.Rejections = append(d.Rejections, rejectionRow{Rejection: x, HeaderList: headersOf(x.Headers)})
	}
	return p.a.Render(w, r, op, http.StatusOK, "webhooks_rejections.html", d)
}

// canReplay says whether the operator's role may replay events (the
// service checks again).
func canReplay(op *admin.Op) bool { return op.Can(auth.PermJobsWrite) }
