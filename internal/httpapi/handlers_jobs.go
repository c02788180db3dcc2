package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/store"
)

// Job is a job in API responses.
type Job struct {
	ID            string       `json:"id"`
	Kind          string       `json:"kind"`
	Queue         string       `json:"queue"`
	State         string       `json:"state"`
	Priority      int          `json:"priority"`
	Attempt       int          `json:"attempt"`
	MaxAttempts   int          `json:"max_attempts"`
	URL           string       `json:"url"`
	Method        string       `json:"method"`
	UniqueKey     string       `json:"unique_key"`
	Schedule      string       `json:"schedule"`
	CorrelationID string       `json:"correlation_id"`
	DeadReason    string       `json:"dead_reason"`
	CreatedAt     time.Time    `json:"created_at"`
	ScheduledAt   time.Time    `json:"scheduled_at"`
	AttemptedAt   *time.Time   `json:"attempted_at"`
	FinalizedAt   *time.Time   `json:"finalized_at"`
	Attempts      []JobAttempt `json:"attempts,omitempty"`
	// Deduplicated is true when a unique key matched a live job: this is
	// that job, and no new one was created.
	Deduplicated bool `json:"deduplicated,omitempty"`
}

// JobAttempt is one try of a job.
type JobAttempt struct {
	Attempt      int       `json:"attempt"`
	StartedAt    time.Time `json:"started_at"`
	DurationMS   int64     `json:"duration_ms"`
	Status       int       `json:"status"`
	ResponseBody string    `json:"response_body"`
	Error        string    `json:"error"`
}

func jobView(j jobs.Job) Job {
	v := Job{ID: j.ID, Kind: j.Kind, Queue: j.Queue, State: j.State, Priority: j.Priority, Attempt: j.Attempt, MaxAttempts: j.MaxAttempts,
		URL: j.URL, Method: j.Method, UniqueKey: j.UniqueKey, Schedule: j.Schedule, CorrelationID: j.CorrelationID, DeadReason: j.DeadReason,
		CreatedAt: j.CreatedAt, ScheduledAt: j.ScheduledAt.UTC(), AttemptedAt: utcPtr(j.AttemptedAt), FinalizedAt: utcPtr(j.FinalizedAt)}
	for _, a := range j.Attempts {
		v.Attempts = append(v.Attempts, JobAttempt{Attempt: a.Attempt, StartedAt: a.StartedAt, DurationMS: a.DurationMS, Status: a.Status,
			ResponseBody: a.ResponseBody, Error: a.Error})
	}
	return v
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func (a *API) jobCreate(w http.ResponseWriter, r *request) error {
	var in struct {
		URL         string            `json:"url"`
		Method      string            `json:"method"`
		Headers     map[string]string `json:"headers"`
		Body        json.RawMessage   `json:"body"`
		ContentType string            `json:"content_type"`
		Queue       string            `json:"queue"`
		Priority    int               `json:"priority"`
		RunAt       *time.Time        `json:"run_at"`
		Delay       string            `json:"delay"`
		MaxAttempts int               `json:"max_attempts"`
		Timeout     string            `json:"timeout"`
		UniqueKey   string            `json:"unique_key"`
	}
	if err := decode(r.Request, &in); err != nil {
		return err
	}
	j, created, err := a.jobs.Create(r.Context(), r.actor, r.tenant.ID, jobs.PushInput{URL: in.URL, Method: in.Method, Headers: in.Headers,
		Body: in.Body, ContentType: in.ContentType, Queue: in.Queue, Priority: in.Priority, RunAt: in.RunAt, Delay: in.Delay,
		MaxAttempts: in.MaxAttempts, Timeout: in.Timeout, UniqueKey: in.UniqueKey})
	if err != nil {
		return err
	}
	v := jobView(j)
	w.Header().Set("Location", "/v1/jobs/"+j.ID)
	if !created {
		v.Deduplicated = true
		return writeJSON(w, http.StatusOK, v)
	}
	return writeJSON(w, http.StatusAccepted, v)
}

// jobFilter reads state (comma-separated or repeated), queue, kind, since, until.
func jobFilter(get func(string) []string) (store.JobFilter, error) {
	var f store.JobFilter
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
	if err := timeRange(one, &f.Since, &f.Until); err != nil {
		return f, err
	}
	return f, jobs.ValidateFilter(f)
}

func (a *API) jobList(w http.ResponseWriter, r *request) error {
	p, err := page(r.Request)
	if err != nil {
		return err
	}
	f, err := jobFilter(func(k string) []string { return r.URL.Query()[k] })
	if err != nil {
		return err
	}
	items, next, err := a.jobs.List(r.Context(), r.actor, r.tenant.ID, p, f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list[Job]{Data: mapSlice(items, jobView), NextCursor: next})
}

func (a *API) jobGet(w http.ResponseWriter, r *request) error {
	j, err := a.jobs.Get(r.Context(), r.actor, r.tenant.ID, r.PathValue("job"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, jobView(j))
}

func (a *API) jobRetry(w http.ResponseWriter, r *request) error {
	j, err := a.jobs.Retry(r.Context(), r.actor, r.tenant.ID, r.PathValue("job"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, jobView(j))
}

func (a *API) jobCancel(w http.ResponseWriter, r *request) error {
	j, err := a.jobs.Cancel(r.Context(), r.actor, r.tenant.ID, r.PathValue("job"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, jobView(j))
}

func (a *API) jobBulk(w http.ResponseWriter, r *request) error {
	var in struct {
		Action string   `json:"action"`
		State  []string `json:"state"`
		Queue  string   `json:"queue"`
		Kind   string   `json:"kind"`
		Since  string   `json:"since"`
		Until  string   `json:"until"`
	}
	if err := decode(r.Request, &in); err != nil {
		return err
	}
	if in.Action != "retry" && in.Action != "cancel" {
		return problem(http.StatusBadRequest, "invalid_action", "action must be \"retry\" or \"cancel\"")
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
		return problem(http.StatusBadRequest, "state_required", "a bulk action needs at least one state, such as [\"dead\"]")
	}
	res, err := a.jobs.Bulk(r.Context(), r.actor, r.tenant.ID, f, "job."+in.Action)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"matched": res.Matched, "changed": res.Changed, "skipped": res.Skipped, "finished": res.Finished})
}

// SigningSecret is a signing secret in API responses.
type SigningSecret struct {
	ID        string     `json:"id"`
	Secret    string     `json:"secret"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
}

func secretsView(list []jobs.Secret) map[string]any {
	out := make([]SigningSecret, len(list))
	for i, s := range list {
		out[i] = SigningSecret{ID: s.ID, Secret: s.Secret, CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt}
	}
	return map[string]any{"data": out}
}

func (a *API) secretGet(w http.ResponseWriter, r *request) error {
	list, err := a.jobs.SigningSecrets(r.Context(), r.actor, r.tenant.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, secretsView(list))
}

func (a *API) secretRotate(w http.ResponseWriter, r *request) error {
	var in struct {
		ExpireOldIn string `json:"expire_old_in"`
	}
	if err := decodeOptional(r.Request, &in); err != nil {
		return err
	}
	d := 24 * time.Hour
	if in.ExpireOldIn != "" {
		var err error
		if d, err = time.ParseDuration(in.ExpireOldIn); err != nil {
			return problem(http.StatusBadRequest, "invalid_expiry", "expire_old_in must be a duration such as \"24h\"")
		}
	}
	list, err := a.jobs.RotateSecret(r.Context(), r.actor, r.tenant.ID, d)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, secretsView(list))
}
