package schedules

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/store"
)

// Missed-run policies.
const (
	MissedSkip    = "skip"
	MissedRunOnce = "run_once"
)

// Headers joist adds to every request a schedule makes, so the app knows
// which slot it is serving (and can deduplicate on it).
const (
	HeaderSchedule = "Joist-Schedule"
	HeaderSlot     = "Joist-Schedule-Slot"
)

// Options tune the scheduler.
type Options struct {
	// Tick is how often each node looks for due schedules (default 250ms).
	Tick time.Duration
	// MaxLate is how late a slot may be handled and still count as on time
	// when the schedule's following slot is not yet due (default 1 minute).
	MaxLate time.Duration
	// RunRetention and RunsKept bound schedule_runs: runs older than
	// RunRetention (default 7 days) are deleted, and each schedule keeps at
	// most RunsKept (default 1000).
	RunRetention time.Duration
	RunsKept     int
	// NodeID names this process in schedule_runs (default: the job
	// engine's).
	NodeID string
}

// Service stores schedules and fires their slots.
type Service struct {
	core  *core.Service
	db    *store.DB
	jobs  *jobs.Service
	log   *slog.Logger
	clock func() time.Time
	opts  Options

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// New builds the schedules service on d (its clock decides which slots are
// due). c checks access and writes audit entries; js enqueues each slot's
// job. It starts nothing.
func New(d core.Deps, c *core.Service, js *jobs.Service, opts Options) *Service {
	d = d.For("schedules")
	if opts.Tick == 0 {
		opts.Tick = 250 * time.Millisecond
	}
	if opts.MaxLate == 0 {
		opts.MaxLate = time.Minute
	}
	if opts.RunRetention == 0 {
		opts.RunRetention = 7 * 24 * time.Hour
	}
	if opts.RunsKept == 0 {
		opts.RunsKept = 1000
	}
	if opts.NodeID == "" {
		opts.NodeID = js.Engine().Options().NodeID
	}
	return &Service{core: c, db: d.DB, jobs: js, log: d.Log, clock: d.Now, opts: opts}
}

func (s *Service) now() time.Time { return s.clock().UTC() }

// Template is the HTTP-push job a schedule enqueues at each slot: the fields
// of POST /v1/jobs that make sense for a recurring job.
type Template struct {
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

func (t Template) push() jobs.PushInput {
	return jobs.PushInput{URL: t.URL, Method: t.Method, Headers: t.Headers, Body: t.Body, ContentType: t.ContentType,
		Queue: t.Queue, Priority: t.Priority, MaxAttempts: t.MaxAttempts, Timeout: t.Timeout}
}

// Input creates or replaces a schedule (PUT semantics: every field is given
// or takes its default).
type Input struct {
	Cron     string
	Timezone string // IANA; "" is UTC
	Job      Template
	Missed   string // skip (default) or run_once
	Paused   bool
}

// Schedule is a schedule as users see it.
type Schedule struct {
	record
	Template Template
	// NextRuns are the next five slots (empty while paused).
	NextRuns []time.Time
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)

// ValidateName checks a schedule name.
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		return core.Invalid("invalid_schedule_name", "schedule name %q must be 1 to 63 characters of a-z, 0-9, '_', '.' and '-', starting with a letter or digit", name)
	}
	return nil
}

// check validates an input whole and returns its parsed spec and template JSON.
func (s *Service) check(name string, in *Input) (Spec, []byte, error) {
	if err := ValidateName(name); err != nil {
		return Spec{}, nil, err
	}
	in.Cron = strings.TrimSpace(in.Cron)
	if in.Timezone == "" {
		in.Timezone = "UTC"
	}
	spec, err := ParseSpec(in.Cron, in.Timezone)
	if err != nil {
		return Spec{}, nil, err
	}
	switch in.Missed {
	case "":
		in.Missed = MissedSkip
	case MissedSkip, MissedRunOnce:
	default:
		return Spec{}, nil, core.Invalid("invalid_missed", "missed %q must be %q (do not run slots missed while joist was down) or %q (run the most recent missed slot once)", in.Missed, MissedSkip, MissedRunOnce)
	}
	for k := range in.Job.Headers {
		if strings.EqualFold(k, HeaderSchedule) || strings.EqualFold(k, HeaderSlot) {
			return Spec{}, nil, core.Invalid("invalid_header", "header %q is set by joist on every scheduled request and may not be given", k)
		}
	}
	if err := s.jobs.ValidatePush(in.Job.push()); err != nil {
		var ce *core.Error
		if errors.As(err, &ce) {
			ce.Message = "job: " + ce.Message
		}
		return Spec{}, nil, err
	}
	b, err := json.Marshal(in.Job)
	return spec, b, err
}

// Put creates or replaces the schedule name. It reports whether it was created.
func (s *Service) Put(ctx context.Context, a auth.Actor, tenantID, name string, in Input) (Schedule, bool, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermJobsWrite); err != nil {
		return Schedule{}, false, err
	}
	spec, job, err := s.check(name, &in)
	if err != nil {
		return Schedule{}, false, err
	}
	sc, created, err := s.put(ctx, a, tenantID, name, in, spec, job)
	if errors.Is(err, store.ErrConflict) {
		// Two first PUTs of one name raced (PostgreSQL): the other
		// committed the insert, so this one is now a replace.
		sc, created, err = s.put(ctx, a, tenantID, name, in, spec, job)
	}
	if err != nil {
		return Schedule{}, false, err
	}
	return s.view(sc), created, nil
}

func (s *Service) put(ctx context.Context, a auth.Actor, tenantID, name string, in Input, spec Spec, job []byte) (record, bool, error) {
	var out record
	created := false
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		sc := scope{tx.Tenant(tenantID)}
		now := s.now()
		before, err := sc.scheduleGet(ctx, name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			created = true
			out = record{ID: store.NewID("sch_"), TenantID: tenantID, Name: name, Cron: in.Cron, Timezone: in.Timezone,
				Job: job, Missed: in.Missed, Paused: in.Paused, Version: 1, NextRunAt: spec.Next(now), CreatedAt: now, UpdatedAt: now}
			if err := sc.scheduleInsert(ctx, out); err != nil {
				return err
			}
			return s.core.Audit(ctx, tx, a, tenantID, "schedule.put", "schedule", out.ID, map[string]any{
				"name": name, "created": true, "cron": in.Cron, "timezone": in.Timezone, "missed": in.Missed, "paused": in.Paused})
		case err != nil:
			return err
		}
		out = before
		out.Cron, out.Timezone, out.Job, out.Missed, out.Paused = in.Cron, in.Timezone, job, in.Missed, in.Paused
		var changed []string
		for _, f := range []struct {
			name string
			diff bool
		}{{"cron", before.Cron != out.Cron}, {"timezone", before.Timezone != out.Timezone}, {"job", string(before.Job) != string(out.Job)},
			{"missed", before.Missed != out.Missed}, {"paused", before.Paused != out.Paused}} {
			if f.diff {
				changed = append(changed, f.name)
			}
		}
		if len(changed) == 0 {
			return nil
		}
		// A new cron or timezone starts from now; so does a schedule that was
		// paused (slots passed while paused are not missed, they were not wanted).
		if slices.Contains(changed, "cron") || slices.Contains(changed, "timezone") || before.Paused {
			out.NextRunAt = spec.Next(now)
		}
		out.UpdatedAt = now
		out.Version++
		if err := sc.scheduleUpdate(ctx, out); err != nil {
			return err
		}
		return s.core.Audit(ctx, tx, a, tenantID, "schedule.put", "schedule", out.ID, map[string]any{
			"name": name, "created": false, "changed": changed, "cron": in.Cron, "timezone": in.Timezone, "missed": in.Missed, "paused": in.Paused})
	})
	return out, created, err
}

// Get returns the schedule name.
func (s *Service) Get(ctx context.Context, a auth.Actor, tenantID, name string) (Schedule, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return Schedule{}, err
	}
	var out record
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = scope{tx.Tenant(tenantID)}.scheduleGet(ctx, name)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return Schedule{}, core.NotFound("schedule %q not found", name)
	}
	if err != nil {
		return Schedule{}, err
	}
	return s.view(out), nil
}

// List lists the tenant's schedules by name.
func (s *Service) List(ctx context.Context, a auth.Actor, tenantID string, p store.Page) ([]Schedule, string, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return nil, "", err
	}
	var recs []record
	var next string
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		recs, next, err = scope{tx.Tenant(tenantID)}.scheduleList(ctx, p)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	out := make([]Schedule, len(recs))
	for i, r := range recs {
		out[i] = s.view(r)
	}
	return out, next, nil
}

// Runs lists the newest runs of a schedule.
func (s *Service) Runs(ctx context.Context, a auth.Actor, tenantID, name string, limit int) ([]Run, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return nil, err
	}
	var out []Run
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		q := scope{tx.Tenant(tenantID)}
		sc, err := q.scheduleGet(ctx, name)
		if err != nil {
			return err
		}
		out, err = q.scheduleRuns(ctx, sc.ID, limit)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, core.NotFound("schedule %q not found", name)
	}
	return out, err
}

// Pause stops a schedule firing. Pausing a paused schedule changes nothing.
func (s *Service) Pause(ctx context.Context, a auth.Actor, tenantID, name string) (Schedule, error) {
	return s.setPaused(ctx, a, tenantID, name, true)
}

// Resume makes a paused schedule fire again from its next slot after now.
func (s *Service) Resume(ctx context.Context, a auth.Actor, tenantID, name string) (Schedule, error) {
	return s.setPaused(ctx, a, tenantID, name, false)
}

func (s *Service) setPaused(ctx context.Context, a auth.Actor, tenantID, name string, paused bool) (Schedule, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermJobsWrite); err != nil {
		return Schedule{}, err
	}
	var out record
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		sc := scope{tx.Tenant(tenantID)}
		before, err := sc.scheduleGet(ctx, name)
		if err != nil {
			return err
		}
		out = before
		if before.Paused == paused {
			return nil
		}
		now := s.now()
		out.Paused, out.UpdatedAt, out.Version = paused, now, before.Version+1
		action := "schedule.pause"
		if !paused {
			action = "schedule.resume"
			spec, err := ParseSpec(before.Cron, before.Timezone)
			if err != nil {
				return err
			}
			out.NextRunAt = spec.Next(now)
		}
		if err := sc.scheduleUpdate(ctx, out); err != nil {
			return err
		}
		return s.core.Audit(ctx, tx, a, tenantID, action, "schedule", out.ID, map[string]any{"name": name})
	})
	if errors.Is(err, store.ErrNotFound) {
		return Schedule{}, core.NotFound("schedule %q not found", name)
	}
	if err != nil {
		return Schedule{}, err
	}
	return s.view(out), nil
}

// Delete deletes a schedule and its run history; jobs it already enqueued
// stay. It returns the schedule as it was.
func (s *Service) Delete(ctx context.Context, a auth.Actor, tenantID, name string) (Schedule, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermJobsWrite); err != nil {
		return Schedule{}, err
	}
	var out record
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		sc := scope{tx.Tenant(tenantID)}
		var err error
		if out, err = sc.scheduleGet(ctx, name); err != nil {
			return err
		}
		if err := sc.scheduleDelete(ctx, out.ID); err != nil {
			return err
		}
		return s.core.Audit(ctx, tx, a, tenantID, "schedule.delete", "schedule", out.ID, map[string]any{
			"name": name, "cron": out.Cron, "timezone": out.Timezone})
	})
	if errors.Is(err, store.ErrNotFound) {
		return Schedule{}, core.NotFound("schedule %q not found", name)
	}
	if err != nil {
		return Schedule{}, err
	}
	v := s.view(out)
	v.NextRuns = []time.Time{}
	return v, nil
}

// view adds the template and the next runs to a stored schedule.
func (s *Service) view(r record) Schedule {
	v := Schedule{record: r, NextRuns: []time.Time{}}
	_ = json.Unmarshal(r.Job, &v.Template)
	if r.Paused {
		return v
	}
	if spec, err := ParseSpec(r.Cron, r.Timezone); err == nil {
		v.NextRuns = spec.NextRuns(r.NextRunAt, 5)
	}
	return v
}
