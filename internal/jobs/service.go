package jobs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/egress"
	"github.com/joist-dev/joist/internal/secretbox"
	"github.com/joist-dev/joist/internal/store"
)

// Options configure the jobs service.
type Options struct {
	// RetryAfterCap bounds a target's Retry-After.
	RetryAfterCap time.Duration
	// DefaultTimeout of an HTTP-push request.
	DefaultTimeout time.Duration
	// DefaultMaxAttempts of an HTTP-push job.
	DefaultMaxAttempts int
	// Bodies are the body sources push jobs may name (PushInput.BodySource),
	// by name: the systems that store what their jobs send (the webhook
	// system's stored events, for forwards).
	Bodies map[string]BodySource
}

// Service enqueues, lists and controls jobs, and signs HTTP-push requests.
type Service struct {
	core   *core.Service
	db     *store.DB
	engine *Engine
	egress *egress.Guard
	box    *secretbox.Box
	opts   Options
	log    *slog.Logger
	now    func() time.Time

	// secretCache keeps each tenant's decrypted signing secrets for a
	// second, so a busy tenant's push jobs do not each read and decrypt them.
	secretMu    sync.Mutex
	secretCache map[string]cachedSecrets
}

type cachedSecrets struct {
	secrets []string
	until   time.Time
}

// NewService builds the jobs service on d and registers the HTTP-push and
// no-op workers on engine. c checks access and writes audit entries; box
// opens the tenants' signing secrets. Push destinations are app
// destinations of d.Egress, checked when a job is saved and when it runs.
func NewService(d core.Deps, c *core.Service, engine *Engine, box *secretbox.Box, opts Options) *Service {
	d = d.For("jobs")
	if opts.RetryAfterCap == 0 {
		opts.RetryAfterCap = time.Hour
	}
	if opts.DefaultTimeout == 0 {
		opts.DefaultTimeout = 30 * time.Second
	}
	if opts.DefaultMaxAttempts == 0 {
		opts.DefaultMaxAttempts = 10
	}
	s := &Service{core: c, db: d.DB, engine: engine, egress: d.Egress, box: box, opts: opts, log: d.Log, now: d.Now, secretCache: map[string]cachedSecrets{}}
	AddWorker(engine, &pushWorker{svc: s, client: d.Egress.Client(egress.App)})
	AddWorker(engine, &noopWorker{})
	return s
}

// Engine is the River engine underneath.
func (s *Service) Engine() *Engine { return s.engine }

// PushInput is an HTTP-push job as the API receives it.
type PushInput struct {
	URL         string
	Method      string
	Headers     map[string]string
	Body        json.RawMessage // a JSON value; a JSON string is sent as is with ContentType
	ContentType string
	Queue       string
	Priority    int
	RunAt       *time.Time
	Delay       string
	MaxAttempts int
	Timeout     string
	UniqueKey   string
	// Schedule names the cron schedule that enqueued the job, if any.
	Schedule string
	// RawBody, when set, is sent byte for byte with ContentType; Body is
	// then ignored.
	RawBody []byte
	// BodySource, when set, names the body source (Options.Bodies) that
	// gives the body sent with ContentType, read at each attempt rather
	// than copied into the job (forwarded webhooks); BodyRef is what it is
	// asked for. Body and RawBody are then ignored.
	BodySource string
	BodyRef    string
	// WebhookID overrides the webhook-id sent (default: the job id).
	WebhookID string
	// JobID, when set, is the new job's id (from store.NewID("job_")), so a
	// caller can store it on its own record in the same insert.
	JobID string
	// DeferDestinationCheck leaves the destination's egress check to the
	// job's attempts (which always make it), so that a refusal is recorded
	// on the job rather than failing its caller: an inbound webhook is
	// stored whatever its forward URL has become.
	DeferDestinationCheck bool
}

// Job is a job as users see it.
type Job struct {
	record
	State    string
	Attempts []Attempt
}

// hop-by-hop and signing headers a job may not set.
var reservedHeaders = []string{"host", "content-length", "transfer-encoding", "connection", "webhook-id", "webhook-timestamp", "webhook-signature"}

// validate checks a push job whole and turns it into River args and options.
func (s *Service) validate(in PushInput) (PushArgs, *river.InsertOpts, error) {
	var zero PushArgs
	u, err := url.Parse(in.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return zero, nil, core.Invalid("invalid_url", "url %q must be an absolute http:// or https:// URL", in.URL)
	}
	if u.User != nil {
		return zero, nil, core.Invalid("invalid_url", "url may not carry a user:password; send credentials in headers")
	}
	if !in.DeferDestinationCheck {
		if err := s.CheckDestination("url", in.URL); err != nil {
			return zero, nil, err
		}
	}
	method := strings.ToUpper(in.Method)
	if method == "" {
		method = "POST"
	}
	switch method {
	case "GET", "POST", "PUT", "PATCH", "DELETE":
	default:
		return zero, nil, core.Invalid("invalid_method", "method %q must be GET, POST, PUT, PATCH or DELETE", in.Method)
	}
	for k, v := range in.Headers {
		if slices.Contains(reservedHeaders, strings.ToLower(k)) {
			return zero, nil, core.Invalid("invalid_header", "header %q is set by joist and may not be given", k)
		}
		if !ValidHeaderName(k) || strings.ContainsAny(v, "\r\n") {
			return zero, nil, core.Invalid("invalid_header", "header %q is not a valid HTTP header", k)
		}
	}
	queue := in.Queue
	if queue == "" {
		queue = "default"
	}
	if _, ok := s.engine.opts.Queues[queue]; !ok {
		return zero, nil, core.Invalid("unknown_queue", "queue %q is not configured; configured queues: %s (JOIST_QUEUES)", queue, strings.Join(s.queueNames(), ", "))
	}
	prio := in.Priority
	if prio == 0 {
		prio = 2
	}
	if prio < 1 || prio > 4 {
		return zero, nil, core.Invalid("invalid_priority", "priority %d must be 1 (highest) to 4", in.Priority)
	}
	attempts := in.MaxAttempts
	if attempts == 0 {
		attempts = s.opts.DefaultMaxAttempts
	}
	if attempts < 1 || attempts > 100 {
		return zero, nil, core.Invalid("invalid_max_attempts", "max_attempts %d must be 1 to 100", in.MaxAttempts)
	}
	timeout := min(s.opts.DefaultTimeout, s.engine.opts.MaxTimeout)
	if in.Timeout != "" {
		d, err := time.ParseDuration(in.Timeout)
		if err != nil || d < time.Second {
			return zero, nil, core.Invalid("invalid_timeout", "timeout %q must be a duration of at least 1s, such as \"30s\"", in.Timeout)
		}
		timeout = d
	}
	if timeout > s.engine.opts.MaxTimeout {
		return zero, nil, core.Invalid("invalid_timeout", "timeout %s is longer than JOIST_JOB_MAX_TIMEOUT (%s)", timeout, s.engine.opts.MaxTimeout)
	}
	opts := &river.InsertOpts{Queue: queue, Priority: prio, MaxAttempts: attempts}
	switch {
	case in.RunAt != nil && in.Delay != "":
		return zero, nil, core.Invalid("invalid_schedule", "give run_at or delay, not both")
	case in.RunAt != nil:
		opts.ScheduledAt = *in.RunAt
	case in.Delay != "":
		d, err := time.ParseDuration(in.Delay)
		if err != nil {
			return zero, nil, core.Invalid("invalid_delay", "delay %q is not a duration such as \"90s\" or \"5m\"", in.Delay)
		}
		if d < 0 {
			return zero, nil, core.Invalid("invalid_delay", "delay %q is negative; use a delay of 0 or more, or run_at", in.Delay)
		}
		opts.ScheduledAt = s.now().Add(d)
	}
	if !validContentType(in.ContentType) {
		return zero, nil, core.Invalid("invalid_content_type", "content_type %q holds a line break or a control character, so it could never be sent as a header; give a media type such as \"text/csv\"", in.ContentType)
	}
	body, ctype, err := pushBody(in.Body, in.ContentType)
	if err != nil {
		return zero, nil, err
	}
	bodyB64 := ""
	if in.RawBody != nil {
		body, ctype = string(in.RawBody), in.ContentType
		if !utf8.Valid(in.RawBody) {
			body, bodyB64 = "", base64.StdEncoding.EncodeToString(in.RawBody)
		}
	}
	if in.BodySource != "" {
		if _, ok := s.opts.Bodies[in.BodySource]; !ok {
			return zero, nil, core.Invalid("unknown_body_source", "body source %q is not registered", in.BodySource)
		}
		body, bodyB64, ctype = "", "", in.ContentType
	}
	if len(in.UniqueKey) > 255 {
		return zero, nil, core.Invalid("invalid_unique_key", "unique_key must be at most 255 characters")
	}
	args := PushArgs{URL: in.URL, Method: method, Headers: in.Headers, Body: body, ContentType: ctype,
		TimeoutMS: timeout.Milliseconds(), UniqueKey: in.UniqueKey, WebhookID: in.WebhookID, BodyBase64: bodyB64, JobID: in.JobID}
	args.setBodyFrom(in.BodySource, in.BodyRef)
	if in.UniqueKey != "" {
		opts.UniqueOpts = river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
			rivertype.JobStateRetryable, rivertype.JobStateScheduled}}
	}
	return args, opts, nil
}

// CheckDestination checks an HTTP-push destination (a job's url, a
// schedule's, a webhook forward_url; field names it) when it is saved, by
// the egress rules of app destinations: a host outside
// JOIST_PUSH_ALLOWED_HOSTS, or a literal address the rules refuse, is 400
// host_not_allowed naming the host. A host name's addresses are checked
// at each attempt.
func (s *Service) CheckDestination(field, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return core.Invalid("invalid_url", "%s %q must be an absolute http:// or https:// URL", field, rawURL)
	}
	if err := s.egress.CheckURL(egress.App, rawURL); err != nil {
		return core.Invalid("host_not_allowed", "%s: %v", field, err)
	}
	return nil
}

// ValidHeaderName reports whether k is a header name an HTTP-push job may
// send: an RFC 9110 token (letters, digits and !#$%&'*+-.^_`|~).
func ValidHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for _, c := range k {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.ContainsRune("!#$%&'*+-.^_`|~", c)) {
			return false
		}
	}
	return true
}

// pushBody: a JSON string is the body as is (with the given content type),
// any other JSON value is sent as JSON.
// validContentType reports whether ctype can be sent as a header value:
// no CR, LF or other control character (a tab is allowed).
func validContentType(ctype string) bool {
	for _, c := range []byte(ctype) {
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// CheckGiven refuses a priority or max_attempts given explicitly as 0 (a
// JSON field present with 0): the ranges start at 1, and only a field left
// out takes the default. nil means the field was left out.
func CheckGiven(priority, maxAttempts *int) error {
	if priority != nil && *priority == 0 {
		return core.Invalid("invalid_priority", "priority 0 is out of range: give 1 (highest) to 4, or leave it out for the default 2")
	}
	if maxAttempts != nil && *maxAttempts == 0 {
		return core.Invalid("invalid_max_attempts", "max_attempts 0 is out of range: give 1 to 100, or leave it out for the default")
	}
	return nil
}

func pushBody(raw json.RawMessage, ctype string) (string, string, error) {
	t := strings.TrimSpace(string(raw))
	if t == "" || t == "null" {
		return "", ctype, nil
	}
	if t[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", "", core.Invalid("invalid_body", "body is not valid JSON")
		}
		if ctype == "" {
			ctype = "text/plain; charset=utf-8"
		}
		return s, ctype, nil
	}
	if ctype != "" && !strings.Contains(ctype, "json") {
		return "", "", core.Invalid("invalid_body", "a JSON body is sent as application/json; to send %q, give the body as a string", ctype)
	}
	return t, "application/json", nil
}

func (s *Service) queueNames() []string {
	var out []string
	for q := range s.engine.opts.Queues {
		out = append(out, q)
	}
	slices.Sort(out)
	return out
}

// Create enqueues an HTTP-push job for the actor's tenant. When a unique key
// matches a live job, no job is created and that job is returned with
// created false.
func (s *Service) Create(ctx context.Context, a auth.Actor, tenantID string, in PushInput) (Job, bool, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermJobsWrite); err != nil {
		return Job{}, false, err
	}
	var j Job
	var created bool
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		j, created, err = s.CreateTx(ctx, tx, tenantID, in, a.CorrelationID)
		return err
	})
	return j, created, err
}

// CreateTx enqueues an HTTP-push job inside tx (for systems that store
// their own records in the same transaction, and for schedules).
func (s *Service) CreateTx(ctx context.Context, tx *store.Tx, tenantID string, in PushInput, correlationID string) (Job, bool, error) {
	p, err := s.PreparePush(in)
	if err != nil {
		return Job{}, false, err
	}
	return s.CreatePreparedTx(ctx, tx, tenantID, p, correlationID)
}

// CreatePreparedTx enqueues an HTTP-push job checked earlier by PreparePush
// inside tx, without checking it again.
func (s *Service) CreatePreparedTx(ctx context.Context, tx *store.Tx, tenantID string, p PreparedPush, correlationID string) (Job, bool, error) {
	if !p.ok {
		return Job{}, false, errors.New("jobs: CreatePreparedTx given a PreparedPush that PreparePush did not return")
	}
	args, opts := p.args, p.opts
	args.TenantID = tenantID
	if args.JobID == "" {
		args.JobID = store.NewID("job_")
	}
	args.CorrelationID = correlationID
	sc := scope{tx.Tenant(tenantID)}
	res, err := s.engine.insertTx(ctx, tx, args, &opts)
	if err != nil {
		return Job{}, false, err
	}
	if res.UniqueSkippedAsDuplicate {
		rec, err := sc.jobByRiverID(ctx, res.Job.ID)
		if err != nil {
			return Job{}, false, err
		}
		return Job{record: rec, State: userState(rec.RiverState, rec.DeadReason)}, false, nil
	}
	rec := record{ID: args.JobID, RiverID: res.Job.ID, Kind: args.Kind(), Queue: opts.Queue, URL: args.URL, Method: args.Method,
		UniqueKey: args.UniqueKey, Schedule: p.schedule, CorrelationID: correlationID, CreatedAt: s.now()}
	if err := sc.jobInsert(ctx, rec); err != nil {
		return Job{}, false, err
	}
	// Built from River's insert result rather than read back: one query less per job.
	r := res.Job
	rec.TenantID, rec.RiverState, rec.Attempt, rec.MaxAttempts, rec.Priority = tenantID, string(r.State), r.Attempt, r.MaxAttempts, r.Priority
	rec.ScheduledAt, rec.AttemptedAt, rec.FinalizedAt = r.ScheduledAt.UTC(), r.AttemptedAt, r.FinalizedAt
	return Job{record: rec, State: userState(rec.RiverState, "")}, true, nil
}

// EnqueueTx enqueues a built-in job kind inside tx and records it for tenantID.
func (s *Service) EnqueueTx(ctx context.Context, tx *store.Tx, tenantID string, args river.JobArgs, opts *river.InsertOpts, correlationID string) (string, error) {
	if opts == nil {
		opts = &river.InsertOpts{}
	}
	if opts.Queue == "" {
		opts.Queue = "default"
	}
	res, err := s.engine.insertTx(ctx, tx, args, opts)
	if err != nil {
		return "", err
	}
	id := store.NewID("job_")
	return id, scope{tx.Tenant(tenantID)}.jobInsert(ctx, record{ID: id, RiverID: res.Job.ID, Kind: args.Kind(), Queue: opts.Queue,
		CorrelationID: correlationID, CreatedAt: s.now()})
}

// EnqueueManyTx enqueues many built-in jobs inside tx with one River batch
// insert and one multi-row insert of joist's records (fan-outs, catch-ups,
// bulk work). It returns the job ids in order.
func (s *Service) EnqueueManyTx(ctx context.Context, tx *store.Tx, tenantID string, params []river.InsertManyParams, correlationID string) ([]string, error) {
	for i := range params {
		if params[i].InsertOpts == nil {
			params[i].InsertOpts = &river.InsertOpts{}
		}
		if params[i].InsertOpts.Queue == "" {
			params[i].InsertOpts.Queue = "default"
		}
	}
	res, err := s.engine.insertManyTx(ctx, tx, params)
	if err != nil {
		return nil, err
	}
	now := s.now()
	recs := make([]record, len(res))
	ids := make([]string, len(res))
	for i, r := range res {
		ids[i] = store.NewID("job_")
		recs[i] = record{ID: ids[i], RiverID: r.Job.ID, Kind: r.Job.Kind, Queue: r.Job.Queue, CorrelationID: correlationID, CreatedAt: now}
	}
	return ids, scope{tx.Tenant(tenantID)}.jobInsertMany(ctx, recs)
}

// Get returns a job with its attempts.
func (s *Service) Get(ctx context.Context, a auth.Actor, tenantID, id string) (Job, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return Job{}, err
	}
	var j Job
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		sc := scope{tx.Tenant(tenantID)}
		rec, err := sc.jobGet(ctx, id)
		if err != nil {
			return err
		}
		j = Job{record: rec, State: userState(rec.RiverState, rec.DeadReason)}
		if j.Attempts, err = sc.jobAttempts(ctx, id); err != nil || rec.Kind == (PushArgs{}).Kind() {
			return err
		}
		// Built-in jobs (not HTTP push) keep no attempts of their own: their
		// failed attempts are River's recorded errors.
		c, err := s.engine.client()
		if err != nil {
			return err
		}
		row, err := c.getTx(ctx, tx.Raw(), rec.RiverID)
		if err != nil {
			return err
		}
		for _, e := range row.Errors {
			j.Attempts = append(j.Attempts, Attempt{JobID: id, Attempt: e.Attempt, StartedAt: e.At, Error: e.Error})
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return j, core.NotFound("job %q not found", id)
	}
	return j, err
}

// ValidateFilter checks filter values from users.
func ValidateFilter(f Filter) error {
	for _, st := range f.States {
		if !slices.Contains(AllStates, st) {
			return core.Invalid("invalid_state", "state %q is not one of %s", st, strings.Join(AllStates, ", "))
		}
	}
	return nil
}

// List lists the tenant's jobs.
func (s *Service) List(ctx context.Context, a auth.Actor, tenantID string, p store.Page, f Filter) ([]Job, string, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return nil, "", err
	}
	if err := ValidateFilter(f); err != nil {
		return nil, "", err
	}
	var out []Job
	var next string
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		recs, n, err := scope{tx.Tenant(tenantID)}.jobList(ctx, p, f)
		for _, r := range recs {
			out = append(out, Job{record: r, State: userState(r.RiverState, r.DeadReason)})
		}
		next = n
		return err
	})
	return out, next, err
}

// Counts counts the tenant's jobs by state.
func (s *Service) Counts(ctx context.Context, a auth.Actor, tenantID string) (map[string]int, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return nil, err
	}
	var out map[string]int
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = scope{tx.Tenant(tenantID)}.jobCounts(ctx)
		return err
	})
	return out, err
}
