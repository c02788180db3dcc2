package client

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/joist-dev/joist/wire"
)

// JobCreate enqueues an HTTP-push job: joist calls URL until it answers
// 2xx (410 ends it as dead). Empty fields take joist's defaults.
type JobCreate = wire.JobCreate

// Job is a job. Attempts is set by GetJob only.
type Job = wire.Job

// JobAttempt is one try of a job.
type JobAttempt = wire.JobAttempt

// JobFilter selects jobs: States (scheduled, available, running, retrying,
// completed, cancelled, dead), Queue, Kind, and a creation window.
type JobFilter struct {
	States []string
	Queue  string
	Kind   string
	Since  time.Time
	Until  time.Time
}

// JobListOptions pages through and filters jobs.
type JobListOptions struct {
	ListOptions
	JobFilter
}

// JobBulk applies Action ("retry" or "cancel") to the jobs JobFilter
// selects; at least one state is required.
type JobBulk struct {
	Action string
	JobFilter
}

// MarshalJSON sends the body of POST /v1/jobs/bulk.
func (b JobBulk) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Action string   `json:"action"`
		State  []string `json:"state"`
		Queue  string   `json:"queue,omitempty"`
		Kind   string   `json:"kind,omitempty"`
		Since  string   `json:"since,omitempty"`
		Until  string   `json:"until,omitempty"`
	}{b.Action, b.States, b.Queue, b.Kind, rfc3339(b.Since), rfc3339(b.Until)})
}

// JobBulkResult is what a bulk action did; Finished is false when it
// stopped at its batch limit (call again for the rest).
type JobBulkResult = wire.JobBulkResult

// SigningSecret signs the requests joist sends to the app. ExpiresAt is set
// on a rotated-out secret that is still in use.
type SigningSecret = wire.SigningSecret

// SigningSecretRotate rotates the signing secret.
type SigningSecretRotate = wire.SigningSecretRotate

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

// CreateJob enqueues a job; deduplicated reports that UniqueKey matched a
// live job, which is returned instead of a new one.
func (c *Client) CreateJob(ctx context.Context, in JobCreate, opts ...Option) (*Job, bool, error) {
	var j Job
	if _, err := c.do(ctx, http.MethodPost, "/v1/jobs", nil, in, &j, opts); err != nil {
		return nil, false, err
	}
	return &j, j.Deduplicated, nil
}

// ListJobs lists jobs newest first.
func (c *Client) ListJobs(ctx context.Context, lo JobListOptions, opts ...Option) (*List[Job], error) {
	v := lo.values()
	if len(lo.States) > 0 {
		v.Set("state", strings.Join(lo.States, ","))
	}
	for k, s := range map[string]string{"queue": lo.Queue, "kind": lo.Kind, "since": rfc3339(lo.Since), "until": rfc3339(lo.Until)} {
		if s != "" {
			v.Set(k, s)
		}
	}
	var l List[Job]
	_, err := c.do(ctx, http.MethodGet, "/v1/jobs", v, nil, &l, opts)
	return ret(&l, err)
}

// GetJob finds a job by id, with its attempts.
func (c *Client) GetJob(ctx context.Context, id string, opts ...Option) (*Job, error) {
	var j Job
	_, err := c.do(ctx, http.MethodGet, "/v1/jobs/"+esc(id), nil, nil, &j, opts)
	return ret(&j, err)
}

// RetryJob runs a dead, cancelled or waiting job again now.
func (c *Client) RetryJob(ctx context.Context, id string, opts ...Option) (*Job, error) {
	var j Job
	_, err := c.do(ctx, http.MethodPost, "/v1/jobs/"+esc(id)+"/retry", nil, nil, &j, opts)
	return ret(&j, err)
}

// CancelJob cancels a job that has not finished.
func (c *Client) CancelJob(ctx context.Context, id string, opts ...Option) (*Job, error) {
	var j Job
	_, err := c.do(ctx, http.MethodPost, "/v1/jobs/"+esc(id)+"/cancel", nil, nil, &j, opts)
	return ret(&j, err)
}

// BulkJobs retries or cancels every job a filter selects.
func (c *Client) BulkJobs(ctx context.Context, in JobBulk, opts ...Option) (*JobBulkResult, error) {
	var r JobBulkResult
	_, err := c.do(ctx, http.MethodPost, "/v1/jobs/bulk", nil, in, &r, opts)
	return ret(&r, err)
}

// SigningSecrets lists the secrets that sign the tenant's outgoing
// requests, current first.
func (c *Client) SigningSecrets(ctx context.Context, opts ...Option) (*List[SigningSecret], error) {
	var l List[SigningSecret]
	_, err := c.do(ctx, http.MethodGet, "/v1/signing-secret", nil, nil, &l, opts)
	return ret(&l, err)
}

// RotateSigningSecret makes a new signing secret and returns the secrets
// now in use.
func (c *Client) RotateSigningSecret(ctx context.Context, in SigningSecretRotate, opts ...Option) (*List[SigningSecret], error) {
	var l List[SigningSecret]
	_, err := c.do(ctx, http.MethodPost, "/v1/signing-secret/rotate", nil, in, &l, opts)
	return ret(&l, err)
}
