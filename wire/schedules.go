package wire

import (
	"encoding/json"
	"time"
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

// SchedulePut creates or replaces a schedule: fields left empty take their
// defaults (timezone UTC, missed "skip", not paused).
type SchedulePut struct {
	// Cron is five fields, an optional leading seconds field, or a
	// descriptor such as "@hourly" or "@every 30s".
	Cron string `json:"cron"`
	// Timezone is an IANA name such as "Europe/Paris".
	Timezone string      `json:"timezone,omitempty"`
	Job      ScheduleJob `json:"job"`
	// Missed is "skip" or "run_once".
	Missed string `json:"missed,omitempty"`
	Paused bool   `json:"paused,omitempty"`
}
