package schedules

import (
	"context"
	"embed"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/joist-dev/joist/internal/admin"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/store"
)

// The schedules pages live under the tenant, like the jobs pages:
//
//	GET  /admin/tenants/{tenant}/schedules                 the tenant's schedules with their next runs
//	GET  /admin/tenants/{tenant}/schedules/{name}          one schedule: job template, next runs, recent runs
//	POST /admin/tenants/{tenant}/schedules/{name}/pause    stop it firing
//	POST /admin/tenants/{tenant}/schedules/{name}/resume   fire again from the next slot after now
//	POST /admin/tenants/{tenant}/schedules/{name}/delete   delete it (jobs it enqueued stay)
//
// Every read and action goes through Service with the operator as
// the actor: it checks reach and the jobs.write permission and writes the
// audit entry in the transaction of the change. Creating and editing
// schedules is the API's job (PUT /v1/schedules/{name}).

// scheduleRuns is how many recent runs a schedule's page shows.
const scheduleRuns = 20

// schedulesPages serves the schedules section with the service it was given.
type schedulesPages struct {
	a   *admin.Admin
	svc *Service
}

//go:embed pages
var pagesFS embed.FS

// AdminSection is the schedules part of the dashboard: each tenant's
// schedules with their next slots and recent runs; pause, resume, delete.
func (s *Service) AdminSection() admin.SectionFunc {
	return func(a *admin.Admin) admin.Section {
		return s.adminSection(a)
	}
}

func (s *Service) adminSection(a *admin.Admin) admin.Section {
	p := &schedulesPages{a: a, svc: s}
	return admin.Section{Name: "schedules", Templates: admin.Sub(pagesFS, "pages"),
		Flashes: map[string]string{
			"schedule_paused":  "The schedule was paused: it fires no more until it is resumed.",
			"schedule_resumed": "The schedule was resumed: it fires again from its next slot.",
			"schedule_deleted": "The schedule was deleted. Jobs it already enqueued stay.",
		},
		TenantLinks: []admin.TenantLink{{Label: "Schedules", Path: "/schedules", ID: "tenant-schedules"}},
		Routes: map[string]admin.HandlerFunc{
			"GET /admin/tenants/{tenant}/schedules":                p.list,
			"GET /admin/tenants/{tenant}/schedules/{name}":         p.detail,
			"POST /admin/tenants/{tenant}/schedules/{name}/pause":  p.pause,
			"POST /admin/tenants/{tenant}/schedules/{name}/resume": p.resume,
			"POST /admin/tenants/{tenant}/schedules/{name}/delete": p.remove,
		}}
}

// slot is a time shown in UTC and, when the schedule has another timezone,
// in that one too.
type slot struct {
	At    time.Time
	Local string // "" when the schedule's timezone is UTC
}

func slotOf(t time.Time, loc *time.Location) slot {
	s := slot{At: t}
	if loc != nil && loc != time.UTC {
		s.Local = t.In(loc).Format("2006-01-02 15:04:05 MST")
	}
	return s
}

// scheduleRow is a schedule as the pages show it.
type scheduleRow struct {
	Schedule
	Next    []slot // the next runs; empty while paused
	LastRun *slot  // the slot of the last run, if it ran
	loc     *time.Location
}

func newScheduleRow(s Schedule, n int) scheduleRow {
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		loc = time.UTC
	}
	r := scheduleRow{Schedule: s, loc: loc}
	for i, t := range s.NextRuns {
		if i == n {
			break
		}
		r.Next = append(r.Next, slotOf(t, loc))
	}
	if s.LastRunAt != nil {
		l := slotOf(*s.LastRunAt, loc)
		r.LastRun = &l
	}
	return r
}

// State is "paused" or "active".
func (r scheduleRow) State() string {
	if r.Paused {
		return "paused"
	}
	return "active"
}

// Badge is the badge class of the schedule's state.
func (r scheduleRow) Badge() string {
	if r.Paused {
		return ""
	}
	return "ok"
}

// Method is the template's HTTP method (POST when not given).
func (r scheduleRow) Method() string {
	if r.Template.Method == "" {
		return "POST"
	}
	return r.Template.Method
}

// HeaderNames are the names of the template's headers, sorted. Their
// values are not shown: they often carry the app's credentials.
func (r scheduleRow) HeaderNames() []string {
	var out []string
	for k := range r.Template.Headers {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

type schedulesData struct {
	Tenant    store.Tenant
	Schedules []scheduleRow
	Next      string
	CanWrite  bool
}

func (p *schedulesPages) list(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	t, err := p.a.Tenant(r, op)
	if err != nil {
		return err
	}
	list, next, err := p.svc.List(r.Context(), op.Actor, t.ID, store.Page{Limit: 50, Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		return err
	}
	d := schedulesData{Tenant: t, Next: admin.NextURL(r, next), CanWrite: op.Can(auth.PermJobsWrite)}
	for _, s := range list {
		d.Schedules = append(d.Schedules, newScheduleRow(s, 3))
	}
	return p.a.Render(w, r, op, http.StatusOK, "schedules.html", d)
}

// runRow is a recent run of a schedule.
type runRow struct {
	Run
	At slot
}

type scheduleData struct {
	Tenant   store.Tenant
	Schedule scheduleRow
	Runs     []runRow
	RunsMax  int
	CanWrite bool
}

func (p *schedulesPages) detail(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	t, err := p.a.Tenant(r, op)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	s, err := p.svc.Get(r.Context(), op.Actor, t.ID, name)
	if err != nil {
		return err
	}
	runs, err := p.svc.Runs(r.Context(), op.Actor, t.ID, name, scheduleRuns)
	if err != nil {
		return err
	}
	d := scheduleData{Tenant: t, Schedule: newScheduleRow(s, len(s.NextRuns)), RunsMax: scheduleRuns, CanWrite: op.Can(auth.PermJobsWrite)}
	for _, run := range runs {
		d.Runs = append(d.Runs, runRow{Run: run, At: slotOf(run.Slot, d.Schedule.loc)})
	}
	return p.a.Render(w, r, op, http.StatusOK, "schedules_detail.html", d)
}

func (p *schedulesPages) pause(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	return p.act(w, r, op, p.svc.Pause, "schedule_paused")
}

func (p *schedulesPages) resume(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	return p.act(w, r, op, p.svc.Resume, "schedule_resumed")
}

func (p *schedulesPages) remove(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	return p.act(w, r, op, p.svc.Delete, "schedule_deleted")
}

// act runs a pause, resume or delete and goes back with a flash: to the
// list after a delete or when the form came from the list (back=list), to
// the schedule's page otherwise. Errors (404 out of reach, 403 without
// jobs.write) are the error page; nothing was changed.
func (p *schedulesPages) act(w http.ResponseWriter, r *http.Request, op *admin.Op,
	do func(ctx context.Context, a auth.Actor, tenantID, name string) (Schedule, error), flash string) error {
	t, err := p.a.Tenant(r, op)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if _, err := do(r.Context(), op.Actor, t.ID, name); err != nil {
		return err
	}
	base := "/admin/tenants/" + url.PathEscape(t.Slug) + "/schedules"
	if flash == "schedule_deleted" || r.PostForm.Get("back") == "list" {
		return admin.Redirect(w, r, base+"?flash="+flash)
	}
	return admin.Redirect(w, r, base+"/"+url.PathEscape(name)+"?flash="+flash)
}
