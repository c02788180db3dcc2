package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/joist-dev/joist/internal/schedules"
)

// ScheduleJob is a schedule's HTTP-push job template.
type ScheduleJob struct {
	URL         string            `json:"url"`
	Method      string            `json:"method,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	Body        json.RawMessage   `json:"body,omitempty"`
	ContentType string            `json:"content_type,omitempty"`
	Queue       string            `json:"queue,omitempty"`
	Priority    int               `json:"priority,omitempty"`
	MaxAttempts int               `json:"max_attempts,omitempty"`
	Timeout     string            `json:"timeout,omitempty"`
}

// Schedule is a cron schedule in API responses.
type Schedule struct {
	ID        string      `json:"id"`
	Name      string      `json:"name"`
	Cron      string      `json:"cron"`
	Timezone  string      `json:"timezone"`
	Job       ScheduleJob `json:"job"`
	Missed    string      `json:"missed"`
	Paused    bool        `json:"paused"`
	NextRunAt *time.Time  `json:"next_run_at"`
	NextRuns  []time.Time `json:"next_runs"`
	LastRunAt *time.Time  `json:"last_run_at"`
	LastJobID string      `json:"last_job_id"`
	LastError string      `json:"last_error"`
	CreatedAt time.Time   `json:"created_at"`
	UpdatedAt time.Time   `json:"updated_at"`
}

func scheduleView(s schedules.Schedule) Schedule {
	t := s.Template
	v := Schedule{ID: s.ID, Name: s.Name, Cron: s.Cron, Timezone: s.Timezone, Missed: s.Missed, Paused: s.Paused,
		Job: ScheduleJob{URL: t.URL, Method: t.Method, Headers: t.Headers, Body: t.Body, ContentType: t.ContentType, Queue: t.Queue,
			Priority: t.Priority, MaxAttempts: t.MaxAttempts, Timeout: t.Timeout},
		NextRuns: s.NextRuns, LastRunAt: utcPtr(s.LastRunAt), LastJobID: s.LastJobID, LastError: s.LastError,
		CreatedAt: s.CreatedAt.UTC(), UpdatedAt: s.UpdatedAt.UTC()}
	if !s.Paused {
		n := s.NextRunAt.UTC()
		v.NextRunAt = &n
	}
	return v
}

func (a *API) schedulePut(w http.ResponseWriter, r *request) error {
	var in struct {
		Cron     string      `json:"cron"`
		Timezone string      `json:"timezone"`
		Job      ScheduleJob `json:"job"`
		Missed   string      `json:"missed"`
		Paused   bool        `json:"paused"`
	}
	if err := decode(r.Request, &in); err != nil {
		return err
	}
	j := in.Job
	s, created, err := a.schedules.Put(r.Context(), r.actor, r.tenant.ID, r.PathValue("name"), schedules.Input{
		Cron: in.Cron, Timezone: in.Timezone, Missed: in.Missed, Paused: in.Paused,
		Job: schedules.Template{URL: j.URL, Method: j.Method, Headers: j.Headers, Body: j.Body, ContentType: j.ContentType,
			Queue: j.Queue, Priority: j.Priority, MaxAttempts: j.MaxAttempts, Timeout: j.Timeout}})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", "/v1/schedules/"+s.Name)
	}
	return writeJSON(w, status, scheduleView(s))
}

func (a *API) scheduleList(w http.ResponseWriter, r *request) error {
	p, err := page(r.Request)
	if err != nil {
		return err
	}
	items, next, err := a.schedules.List(r.Context(), r.actor, r.tenant.ID, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list[Schedule]{Data: mapSlice(items, scheduleView), NextCursor: next})
}

func (a *API) scheduleGet(w http.ResponseWriter, r *request) error {
	s, err := a.schedules.Get(r.Context(), r.actor, r.tenant.ID, r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, scheduleView(s))
}

func (a *API) schedulePause(w http.ResponseWriter, r *request) error {
	s, err := a.schedules.Pause(r.Context(), r.actor, r.tenant.ID, r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, scheduleView(s))
}

func (a *API) scheduleResume(w http.ResponseWriter, r *request) error {
	s, err := a.schedules.Resume(r.Context(), r.actor, r.tenant.ID, r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, scheduleView(s))
}

func (a *API) scheduleDelete(w http.ResponseWriter, r *request) error {
	s, err := a.schedules.Delete(r.Context(), r.actor, r.tenant.ID, r.PathValue("name"))
	if err != nil {
		return err
	}
	v := scheduleView(s)
	v.NextRunAt = nil // deleted: nothing will run
	return writeJSON(w, http.StatusOK, v)
}
