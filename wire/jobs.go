package wire

import (
	"encoding/json"
	"time"
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

// SigningSecret is a signing secret in API responses.
type SigningSecret struct {
	ID        string     `json:"id"`
	Secret    string     `json:"secret"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// JobCreate enqueues an HTTP-push job: joist calls URL until it answers
// 2xx (410 ends it as dead). Empty fields take joist's defaults.
type JobCreate struct {
	URL     string            `json:"url"`
	Method  string            `json:"method,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	// Body is any JSON value, sent as JSON; or a JSON string, sent as is
	// with ContentType.
	Body        json.RawMessage `json:"body,omitempty"`
	ContentType string          `json:"content_type,omitempty"`
	Queue       string          `json:"queue,omitempty"`
	// Priority is 1 (highest) to 4; left out (0 here, omitted), the
	// default 2. Sent explicitly as 0, it is refused.
	Priority int        `json:"priority,omitempty"`
	RunAt    *time.Time `json:"run_at,omitempty"`
	// Delay is a Go duration such as "90s"; not with RunAt.
	Delay       string `json:"delay,omitempty"`
	MaxAttempts int    `json:"max_attempts,omitempty"`
	// Timeout is per attempt, such as "30s".
	Timeout string `json:"timeout,omitempty"`
	// UniqueKey deduplicates against a live job with the same key.
	UniqueKey string `json:"unique_key,omitempty"`
}

// JobBulkResult is the answer of POST /v1/jobs/bulk.
type JobBulkResult struct {
	Changed  int  `json:"changed"`
	Finished bool `json:"finished"`
	Matched  int  `json:"matched"`
	Skipped  int  `json:"skipped"`
}

// SigningSecretRotate rotates the signing secret.
type SigningSecretRotate struct {
	// ExpireOldIn is how long the old secrets keep signing, a Go duration
	// such as "24h" (the default when empty); "0s" ends them now.
	ExpireOldIn string `json:"expire_old_in,omitempty"`
}
