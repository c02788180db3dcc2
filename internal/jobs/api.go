package jobs

import (
	_ "embed"
	"net/http"
	"strings"
	"time"

	"github.com/joist-dev/joist/internal/httpapi"
	"github.com/joist-dev/joist/wire"
)

func jobView(j Job) wire.Job {
	v := wire.Job{ID: j.ID, Kind: j.Kind, Queue: j.Queue, State: j.State, Priority: j.Priority, Attempt: j.Attempt, MaxAttempts: j.MaxAttempts,
		URL: j.URL, Method: j.Method, UniqueKey: j.UniqueKey, Schedule: j.Schedule, CorrelationID: j.CorrelationID, DeadReason: j.DeadReason,
		CreatedAt: j.CreatedAt, ScheduledAt: j.ScheduledAt.UTC(), AttemptedAt: httpapi.UTCPtr(j.AttemptedAt), FinalizedAt: httpapi.UTCPtr(j.FinalizedAt)}
	for _, a := range j.Attempts {
		v.Attempts = append(v.Attempts, wire.JobAttempt{Attempt: a.Attempt, StartedAt: a.StartedAt, DurationMS: a.DurationMS, Status: a.Status,
			ResponseBody: a.ResponseBody, Error: a.Error})
	}
	return v
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func (a *api) jobCreate(w http.ResponseWriter, r *httpapi.Request) error {
	var in struct {
		wire.JobCreate
		// Present or not: an explicit 0 is refused (CheckGiven).
		Priority    *int `json:"priority,omitempty"`
		MaxAttempts *int `json:"max_attempts,omitempty"`
	}
	if err := httpapi.Decode(r.Request, &in); err != nil {
		return err
	}
	if err := CheckGiven(in.Priority, in.MaxAttempts); err != nil {
		return err
	}
	in.JobCreate.Priority, in.JobCreate.MaxAttempts = deref(in.Priority), deref(in.MaxAttempts)
	c := in.JobCreate
	j, created, err := a.svc.Create(r.Context(), r.Actor, r.Tenant.ID, PushInput{URL: c.URL, Method: c.Method, Headers: c.Headers,
		Body: c.Body, ContentType: c.ContentType, Queue: c.Queue, Priority: c.Priority, RunAt: c.RunAt, Delay: c.Delay,
		MaxAttempts: c.MaxAttempts, Timeout: c.Timeout, UniqueKey: c.UniqueKey})
	if err != nil {
		return err
	}
	v := jobView(j)
	w.Header().Set("Location", "/v1/jobs/"+j.ID)
	if !created {
		v.Deduplicated = true
		return httpapi.WriteJSON(w, http.StatusOK, v)
	}
	return httpapi.WriteJSON(w, http.StatusAccepted, v)
}

// jobFilter reads state (comma-separated or repeated), queue, kind, since, until.
func jobFilter(get func(string) []string) (Filter, error) {
	var f Filter
	for _, s := range get("state") {
		for _, st := range strings.Split(s, ",") {
			if st = strings.TrimSpace(st); st != "" {
				f.States = append(f.States, st)
			}
		}
	}
	one := func(k string) string {
		if v := get(k); len(v) > 0 {
			return v[0]
		}
		return ""
	}
	f.Queue, f.Kind = one("queue"), one("kind")
	if err := httpapi.TimeRange(one, &f.Since, &f.Until); err != nil {
		return f, err
	}
	return f, ValidateFilter(f)
}

func (a *api) jobList(w http.ResponseWriter, r *httpapi.Request) error {
	p, err := httpapi.ParsePage(r.Request)
	if err != nil {
		return err
	}
	f, err := jobFilter(func(k string) []string { return r.URL.Query()[k] })
	if err != nil {
		return err
	}
	items, next, err := a.svc.List(r.Context(), r.Actor, r.Tenant.ID, p, f)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, httpapi.List[wire.Job]{Data: httpapi.MapSlice(items, jobView), NextCursor: next})
}

func (a *api) jobGet(w http.ResponseWriter, r *httpapi.Request) error {
	j, err := a.svc.Get(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("job"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, jobView(j))
}

func (a *api) jobRetry(w http.ResponseWriter, r *httpapi.Request) error {
	j, err := a.svc.Retry(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("job"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, jobView(j))
}

func (a *api) jobCancel(w http.ResponseWriter, r *httpapi.Request) error {
	j, err := a.svc.Cancel(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("job"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, jobView(j))
}

func (a *api) jobBulk(w http.ResponseWriter, r *httpapi.Request) error {
	var in struct {
		Action string   `json:"action"`
		State  []string `json:"state"`
		Queue  string   `json:"queue"`
		Kind   string   `json:"kind"`
		Since  string   `json:"since"`
		Until  string   `json:"until"`
	}
	if err := httpapi.Decode(r.Request, &in); err != nil {
		return err
	}
	if in.Action != "retry" && in.Action != "cancel" {
		return httpapi.NewProblem(http.StatusBadRequest, "invalid_action", "action must be \"retry\" or \"cancel\"")
	}
	f, err := jobFilter(func(k string) []string {
		switch k {
		case "state":
			return in.State
		case "queue":
			return []string{in.Queue}
		case "kind":
			return []string{in.Kind}
		case "since":
			return []string{in.Since}
		case "until":
			return []string{in.Until}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(f.States) == 0 {
		return httpapi.NewProblem(http.StatusBadRequest, "state_required", "a bulk action needs at least one state, such as [\"dead\"]")
	}
	res, err := a.svc.Bulk(r.Context(), r.Actor, r.Tenant.ID, f, "job."+in.Action)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, wire.JobBulkResult{Matched: res.Matched, Changed: res.Changed, Skipped: res.Skipped, Finished: res.Finished})
}

func secretsView(list []Secret) wire.Items[wire.SigningSecret] {
	out := make([]wire.SigningSecret, len(list))
	for i, s := range list {
		out[i] = wire.SigningSecret{ID: s.ID, Secret: s.Secret, CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt}
	}
	return wire.Items[wire.SigningSecret]{Data: out}
}

func (a *api) secretGet(w http.ResponseWriter, r *httpapi.Request) error {
	list, err := a.svc.SigningSecrets(r.Context(), r.Actor, r.Tenant.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return httpapi.WriteJSON(w, http.StatusOK, secretsView(list))
}

func (a *api) secretRotate(w http.ResponseWriter, r *httpapi.Request) error {
	var in wire.SigningSecretRotate
	if err := httpapi.DecodeOptional(r.Request, &in); err != nil {
		return err
	}
	d := 24 * time.Hour
	if in.ExpireOldIn != "" {
		var err error
		if d, err = time.ParseDuration(in.ExpireOldIn); err != nil {
			return httpapi.NewProblem(http.StatusBadRequest, "invalid_expiry", "expire_old_in must be a duration such as \"24h\"")
		}
	}
	list, err := a.svc.RotateSecret(r.Context(), r.Actor, r.Tenant.ID, d)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return httpapi.WriteJSON(w, http.StatusOK, secretsView(list))
}

//go:embed openapi.json
var openapiFragment []byte

// OpenAPI is the fragment of /openapi.json that describes this system's
// routes (merged by the HTTP kit).
func OpenAPI() []byte { return openapiFragment }

// api serves the jobs system's routes.
type api struct{ svc *Service }

// API is the jobs system's part of the HTTP API: HTTP-push jobs, the
// dead-letter view with retry and cancel, and the signing secret.
func (s *Service) API() httpapi.System {
	a := &api{svc: s}
	return httpapi.System{Name: "jobs", OpenAPI: openapiFragment, Routes: []httpapi.Route{
		{Method: "POST", Pattern: "/v1/jobs", Tenant: "header", Idempotent: true, Handler: a.jobCreate},
		{Method: "GET", Pattern: "/v1/jobs", Tenant: "header", Instance: true, Handler: a.jobList},
		{Method: "GET", Pattern: "/v1/jobs/{job}", Tenant: "header", Instance: true, Handler: a.jobGet},
		{Method: "POST", Pattern: "/v1/jobs/{job}/retry", Tenant: "header", Instance: true, Handler: a.jobRetry},
		{Method: "POST", Pattern: "/v1/jobs/{job}/cancel", Tenant: "header", Instance: true, Handler: a.jobCancel},
		{Method: "POST", Pattern: "/v1/jobs/bulk", Tenant: "header", Instance: true, Handler: a.jobBulk},
		{Method: "GET", Pattern: "/v1/signing-secret", Tenant: "header", Instance: true, Handler: a.secretGet},
		{Method: "POST", Pattern: "/v1/signing-secret/rotate", Tenant: "header", Instance: true, Handler: a.secretRotate},
	}}
}
