package schedules

import (
	_ "embed"
	"net/http"

	"github.com/joist-dev/joist/internal/httpapi"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/wire"
)

func scheduleView(s Schedule) wire.Schedule {
	t := s.Template
	v := wire.Schedule{ID: s.ID, Name: s.Name, Cron: s.Cron, Timezone: s.Timezone, Missed: s.Missed, Paused: s.Paused,
		Job: wire.ScheduleJob{URL: t.URL, Method: t.Method, Headers: t.Headers, Body: t.Body, ContentType: t.ContentType, Queue: t.Queue,
			Priority: t.Priority, MaxAttempts: t.MaxAttempts, Timeout: t.Timeout},
		NextRuns: s.NextRuns, LastRunAt: httpapi.UTCPtr(s.LastRunAt), LastJobID: s.LastJobID, LastError: s.LastError,
		CreatedAt: s.CreatedAt.UTC(), UpdatedAt: s.UpdatedAt.UTC()}
	if !s.Paused {
		n := s.NextRunAt.UTC()
		v.NextRunAt = &n
	}
	return v
}

func (a *api) schedulePut(w http.ResponseWriter, r *httpapi.Request) error {
	var in struct {
		wire.SchedulePut
		Job struct {
			wire.ScheduleJob
			// Present or not: an explicit 0 is refused (jobs.CheckGiven).
			Priority    *int `json:"priority,omitempty"`
			MaxAttempts *int `json:"max_attempts,omitempty"`
		} `json:"job"`
	}
	if err := httpapi.Decode(r.Request, &in); err != nil {
		return err
	}
	if err := jobs.CheckGiven(in.Job.Priority, in.Job.MaxAttempts); err != nil {
		return err
	}
	j := in.Job.ScheduleJob
	if in.Job.Priority != nil {
		j.Priority = *in.Job.Priority
	}
	if in.Job.MaxAttempts != nil {
		j.MaxAttempts = *in.Job.MaxAttempts
	}
	s, created, err := a.svc.Put(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("name"), Input{
		Cron: in.Cron, Timezone: in.Timezone, Missed: in.Missed, Paused: in.Paused,
		Job: Template{URL: j.URL, Method: j.Method, Headers: j.Headers, Body: j.Body, ContentType: j.ContentType,
			Queue: j.Queue, Priority: j.Priority, MaxAttempts: j.MaxAttempts, Timeout: j.Timeout}})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", "/v1/schedules/"+s.Name)
	}
	return httpapi.WriteJSON(w, status, scheduleView(s))
}

func (a *api) scheduleList(w http.ResponseWriter, r *httpapi.Request) error {
	p, err := httpapi.ParsePage(r.Request)
	if err != nil {
		return err
	}
	items, next, err := a.svc.List(r.Context(), r.Actor, r.Tenant.ID, p)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, httpapi.List[wire.Schedule]{Data: httpapi.MapSlice(items, scheduleView), NextCursor: next})
}

func (a *api) scheduleGet(w http.ResponseWriter, r *httpapi.Request) error {
	s, err := a.svc.Get(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("name"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, scheduleView(s))
}

func (a *api) schedulePause(w http.ResponseWriter, r *httpapi.Request) error {
	s, err := a.svc.Pause(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("name"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, scheduleView(s))
}

func (a *api) scheduleResume(w http.ResponseWriter, r *httpapi.Request) error {
	s, err := a.svc.Resume(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("name"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, scheduleView(s))
}

func (a *api) scheduleDelete(w http.ResponseWriter, r *httpapi.Request) error {
	s, err := a.svc.Delete(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("name"))
	if err != nil {
		return err
	}
	v := scheduleView(s)
	v.NextRunAt = nil // deleted: nothing will run
	return httpapi.WriteJSON(w, http.StatusOK, v)
}

//go:embed openapi.json
var openapiFragment []byte

// OpenAPI is the fragment of /openapi.json that describes this system's
// routes (merged by the HTTP kit).
func OpenAPI() []byte { return openapiFragment }

// api serves the schedules system's routes.
type api struct{ svc *Service }

// API is the schedules system's part of the HTTP API: durable cron
// schedules of HTTP-push jobs.
func (s *Service) API() httpapi.System {
	a := &api{svc: s}
	return httpapi.System{Name: "schedules", OpenAPI: openapiFragment, Routes: []httpapi.Route{
		{Method: "GET", Pattern: "/v1/schedules", Tenant: "header", Handler: a.scheduleList},
		{Method: "PUT", Pattern: "/v1/schedules/{name}", Tenant: "header", Handler: a.schedulePut},
		{Method: "GET", Pattern: "/v1/schedules/{name}", Tenant: "header", Handler: a.scheduleGet},
		{Method: "DELETE", Pattern: "/v1/schedules/{name}", Tenant: "header", Handler: a.scheduleDelete},
		{Method: "POST", Pattern: "/v1/schedules/{name}/pause", Tenant: "header", Handler: a.schedulePause},
		{Method: "POST", Pattern: "/v1/schedules/{name}/resume", Tenant: "header", Handler: a.scheduleResume},
	}}
}
