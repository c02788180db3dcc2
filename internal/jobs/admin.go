package jobs

import (
	"context"
	"embed"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/joist-dev/joist/internal/admin"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/store"
)

// The jobs pages live under the tenant, since every job belongs to one:
//
//	GET  /admin/tenants/{tenant}/jobs                   counts by state, list filtered by state, queue, kind
//	POST /admin/tenants/{tenant}/jobs/retry-dead        retry every dead job matching queue and kind
//	GET  /admin/tenants/{tenant}/jobs/{job}             one job with its attempts
//	POST /admin/tenants/{tenant}/jobs/{job}/retry       run it again now
//	POST /admin/tenants/{tenant}/jobs/{job}/cancel      cancel it
//
// Every read and action goes through Service with the operator as the
// actor: it checks reach and the jobs.write permission and writes the audit
// entry in the transaction of the change.

// jobsPages serves the jobs section with the service it was given.
type jobsPages struct {
	a   *admin.Admin
	svc *Service
}

//go:embed pages partials
var pagesFS embed.FS

// AdminSection is the jobs part of the dashboard: each tenant's jobs, with
// their attempts, retry, cancel and the bulk retry of dead jobs. Its
// partial "attempts" renders a job's attempts on any page (the webhook
// event page uses it too).
func (s *Service) AdminSection() admin.SectionFunc {
	return func(a *admin.Admin) admin.Section {
		p := &jobsPages{a: a, svc: s}
		return admin.Section{Name: "jobs", Templates: admin.Sub(pagesFS, "pages"), Partials: admin.Sub(pagesFS, "partials"),
			Flashes: map[string]string{
				"job_retried":   "The job was queued to run again.",
				"job_cancelled": "The job was cancelled.",
			},
			TenantLinks: []admin.TenantLink{{Label: "Jobs", Path: "/jobs", ID: "tenant-jobs", Instance: true}},
			Routes: map[string]admin.HandlerFunc{
				"GET /admin/tenants/{tenant}/jobs":               p.list,
				"POST /admin/tenants/{tenant}/jobs/retry-dead":   p.retryDead,
				"GET /admin/tenants/{tenant}/jobs/{job}":         p.detail,
				"POST /admin/tenants/{tenant}/jobs/{job}/retry":  p.retry,
				"POST /admin/tenants/{tenant}/jobs/{job}/cancel": p.cancel,
			}}
	}
}

// Row is a job as the dashboard shows it (the jobs pages, and the
// webhook event page for a forward).
type Row struct{ Job }

// Badge is the badge class of the job's state.
func (j Row) Badge() string {
	switch j.State {
	case "completed":
		return "ok"
	case "dead":
		return "revoked"
	}
	return ""
}

type jobsData struct {
	Tenant             store.Tenant
	Tabs               []admin.Tab // "all" first, then AllStates
	State, Queue, Kind string      // the filter as given
	Queues             []string    // configured queues
	Jobs               []Row
	Next               string
	Dead               int // dead jobs of the tenant, all queues
	CanWrite, Filtered bool
}

// jobsURL is the list's URL for a filter (and a cursor).
func jobsURL(slug, state, queue, kind, cursor string) string {
	q := url.Values{}
	for k, v := range map[string]string{"state": state, "queue": queue, "kind": kind, "cursor": cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	u := "/admin/tenants/" + slug + "/jobs"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

func (p *jobsPages) list(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	t, err := p.a.Tenant(r, op)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	d := jobsData{Tenant: t, State: strings.TrimSpace(q.Get("state")), Queue: strings.TrimSpace(q.Get("queue")),
		Kind: strings.TrimSpace(q.Get("kind")), CanWrite: op.Can(auth.PermJobsWrite)}
	d.Filtered = d.Queue != "" || d.Kind != ""
	f := Filter{Queue: d.Queue, Kind: d.Kind}
	if d.State != "" {
		f.States = []string{d.State}
	}
	// List first: an unknown state is a 400 before anything else is read.
	list, next, err := p.svc.List(r.Context(), op.Actor, t.ID, store.Page{Limit: 50, Cursor: q.Get("cursor")}, f)
	if err != nil {
		return err
	}
	counts, err := p.svc.Counts(r.Context(), op.Actor, t.ID)
	if err != nil {
		return err
	}
	total := 0
	for _, st := range AllStates {
		total += counts[st]
	}
	d.Tabs = append(d.Tabs, admin.Tab{Name: "all", Count: total, URL: jobsURL(t.Slug, "", d.Queue, d.Kind, ""), Active: d.State == ""})
	for _, st := range AllStates {
		d.Tabs = append(d.Tabs, admin.Tab{Name: st, Count: counts[st], URL: jobsURL(t.Slug, st, d.Queue, d.Kind, ""), Active: d.State == st})
	}
	d.Dead = counts["dead"]
	for _, j := range list {
		d.Jobs = append(d.Jobs, Row{j})
	}
	if next != "" {
		d.Next = jobsURL(t.Slug, d.State, d.Queue, d.Kind, next)
	}
	for name := range p.svc.Engine().Options().Queues {
		d.Queues = append(d.Queues, name)
	}
	slices.Sort(d.Queues)
	return p.a.RenderFlash(w, r, op, http.StatusOK, "jobs.html", d, bulkFlash(q))
}

// bulkFlash is the message after a bulk retry, from the numbers the
// redirect carries (no free text travels in the URL).
func bulkFlash(q url.Values) string {
	if q.Get("flash") != "jobs_retried" {
		return ""
	}
	n, _ := strconv.Atoi(q.Get("n"))
	msg := fmt.Sprintf("%d dead %s queued to run again.", n, admin.Plural(n, "job was", "jobs were"))
	if s, _ := strconv.Atoi(q.Get("skipped")); s > 0 {
		msg += fmt.Sprintf(" %d changed state meanwhile and %s left alone.", s, admin.Plural(s, "was", "were"))
	}
	if q.Get("more") == "1" {
		msg += fmt.Sprintf(" More dead jobs match than one bulk action takes (%d): retry again for the rest.", MaxBulk)
	}
	return msg
}

// retryDead retries every dead job of the tenant in the queue and of the
// kind given (either may be empty: any).
func (p *jobsPages) retryDead(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	t, err := p.a.Tenant(r, op)
	if err != nil {
		return err
	}
	queue, kind := strings.TrimSpace(r.PostForm.Get("queue")), strings.TrimSpace(r.PostForm.Get("kind"))
	res, err := p.svc.Bulk(r.Context(), op.Actor, t.ID, Filter{States: []string{"dead"}, Queue: queue, Kind: kind}, "job.retry")
	if err != nil {
		return err
	}
	u := jobsURL(t.Slug, "dead", queue, kind, "")
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	u += sep + "flash=jobs_retried&n=" + strconv.Itoa(res.Changed) + "&skipped=" + strconv.Itoa(res.Skipped)
	if !res.Finished {
		u += "&more=1"
	}
	return admin.Redirect(w, r, u)
}

type jobData struct {
	Tenant            store.Tenant
	Job               Row
	CanRetry          bool
	CanCancel         bool
	RetryLabel        string
	ConfirmRetry      string // asked before retrying a job that completed
	MaxResponseLength int
}

func (p *jobsPages) jobData(r *http.Request, op *admin.Op) (jobData, error) {
	t, err := p.a.Tenant(r, op)
	if err != nil {
		return jobData{}, err
	}
	j, err := p.svc.Get(r.Context(), op.Actor, t.ID, r.PathValue("job"))
	if err != nil {
		return jobData{}, err
	}
	d := jobData{Tenant: t, Job: Row{j}, RetryLabel: "Retry", MaxResponseLength: MaxResponseBody}
	if op.Can(auth.PermJobsWrite) {
		switch j.State {
		case "dead", "cancelled", "retrying":
			d.CanRetry = true
		case "completed":
			d.CanRetry, d.ConfirmRetry = true, "This job completed. Run it again?"
		case "scheduled":
			d.CanRetry, d.RetryLabel = true, "Run now"
		}
		d.CanCancel = slices.Contains([]string{"scheduled", "available", "running", "retrying"}, j.State)
	}
	return d, nil
}

func (p *jobsPages) detail(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	d, err := p.jobData(r, op)
	if err != nil {
		return err
	}
	return p.a.Render(w, r, op, http.StatusOK, "jobs_detail.html", d)
}

func (p *jobsPages) retry(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	return p.act(w, r, op, p.svc.Retry, "job_retried")
}

func (p *jobsPages) cancel(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	return p.act(w, r, op, p.svc.Cancel, "job_cancelled")
}

// act runs a retry or cancel and goes back to the job with a flash, or
// shows the job again with the reason it could not be done (a conflict
// such as a running job, 409).
func (p *jobsPages) act(w http.ResponseWriter, r *http.Request, op *admin.Op,
	do func(ctx context.Context, a auth.Actor, tenantID, id string) (Job, error), flash string) error {
	t, err := p.a.Tenant(r, op)
	if err != nil {
		return err
	}
	id := r.PathValue("job")
	if _, err := do(r.Context(), op.Actor, t.ID, id); err != nil {
		d, derr := p.jobData(r, op)
		if derr != nil {
			return derr
		}
		return p.a.RenderForm(w, r, op, "jobs_detail.html", d, err)
	}
	return admin.Redirect(w, r, "/admin/tenants/"+t.Slug+"/jobs/"+url.PathEscape(id)+"?flash="+flash)
}
