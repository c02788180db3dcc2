package jobs

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/joist-dev/joist/internal/egress"
	"github.com/joist-dev/joist/internal/signing"
	"github.com/joist-dev/joist/internal/store"
)

// PushArgs is an HTTP-push job: joist calls the app's URL, signed.
type PushArgs struct {
	JobID         string            `json:"job_id"`
	TenantID      string            `json:"tenant_id" river:"unique"`
	URL           string            `json:"url"`
	Method        string            `json:"method"`
	Headers       map[string]string `json:"headers,omitempty"`
	Body          string            `json:"body,omitempty"`
	ContentType   string            `json:"content_type,omitempty"`
	TimeoutMS     int64             `json:"timeout_ms"`
	UniqueKey     string            `json:"unique_key,omitempty" river:"unique"`
	CorrelationID string            `json:"correlation_id,omitempty"`
	// WebhookID, when set, is the webhook-id sent instead of the job id (a
	// forwarded event keeps its event id across replays).
	WebhookID string `json:"webhook_id,omitempty"`
	// BodyBase64 carries a body that is not valid UTF-8.
	BodyBase64 string `json:"body_base64,omitempty"`
	// BodySource and BodyRef, when set, name the body source (a BodySource
	// hook) that gives the body at each attempt, and what it is asked for:
	// the job carries no copy of it.
	BodySource string `json:"body_source,omitempty"`
	BodyRef    string `json:"body_ref,omitempty"`
	// BodyEvent is BodyRef of the webhook_event body source, in the field
	// that versions before body sources wrote and read (see bodyFrom).
	BodyEvent string `json:"body_event,omitempty"`
}

// Kind names HTTP-push jobs.
func (PushArgs) Kind() string { return "http_push" }

// MaxResponseBody is how much of a target's answer an attempt keeps.
const MaxResponseBody = 4 << 10

type pushWorker struct {
	river.WorkerDefaults[PushArgs]
	svc *Service
	// client is the guarded client of app destinations: every attempt,
	// connection and redirect is checked against the egress rules as they
	// are now, whenever the job was enqueued.
	client *http.Client
	// retryAfter carries a target's Retry-After from Work to NextRetry, which
	// River calls right after Work on the same node.
	retryAfter sync.Map // "riverID:attempt" -> time.Duration
}

// Timeout gives River the job's own timeout plus a margin, so the HTTP
// client's timeout fires first and the attempt is recorded.
func (w *pushWorker) Timeout(job *river.Job[PushArgs]) time.Duration {
	return time.Duration(job.Args.TimeoutMS)*time.Millisecond + 5*time.Second
}

// NextRetry is exponential backoff with jitter (1s, 2s, 4s ... capped at 1h,
// ±20%), unless the target said Retry-After (capped by RetryAfterCap).
func (w *pushWorker) NextRetry(job *river.Job[PushArgs]) time.Time {
	now := w.svc.now()
	if v, ok := w.retryAfter.LoadAndDelete(fmt.Sprint(job.ID, ":", job.Attempt)); ok {
		// River refuses a next retry that is not in the future (it then falls
		// back to its own attempt^4 policy): "Retry-After: 0" means one second.
		return now.Add(max(v.(time.Duration), time.Second))
	}
	return now.Add(Backoff(job.Attempt))
}

// Backoff is the delay before retry n (n >= 1).
func Backoff(attempt int) time.Duration {
	d := time.Second << min(max(attempt-1, 0), 12)
	if d > time.Hour {
		d = time.Hour
	}
	jitter := 0.8 + 0.4*rand.Float64()
	return time.Duration(float64(d) * jitter)
}

// errGone marks a 410 answer: the target will never accept this job.
var errGone = errors.New("target answered 410 Gone")

// DeadRefused is the dead_reason of a job whose destination the egress
// rules refused: retrying cannot help until an operator allows it (then
// retry or replay it).
const DeadRefused = "destination_refused"

func (w *pushWorker) Work(ctx context.Context, job *river.Job[PushArgs]) error {
	a := job.Args
	w.svc.engine.ids.remember(job.ID, a.JobID) // River's log lines about this job name joist's id
	start := w.svc.now()
	status, body, err := w.call(ctx, job)
	// The target's answer and errors are outside text: stored safely (NUL
	// and invalid UTF-8 replaced, and said so), in the attempt as in
	// River's error list (jsonb, which refuses \u0000).
	body = store.SafeText(body)
	if err != nil {
		err = safeError{err}
	}
	rec := Attempt{JobID: a.JobID, Attempt: job.Attempt, StartedAt: start, DurationMS: w.svc.now().Sub(start).Milliseconds(),
		Status: status, ResponseBody: body, Node: w.svc.engine.opts.NodeID}
	if err != nil {
		rec.Error = err.Error()
	} else if status < 200 || status > 299 {
		rec.Error = fmt.Sprintf("target answered %d", status)
	}
	gone := status == http.StatusGone
	_, refused := egress.Refused(err)
	// The body source no longer has the job's body (a forward's event was purged).
	var bodyGone *GoneError
	errors.As(err, &bodyGone)
	// Record the attempt (and a 410's dead reason) before telling River the outcome.
	werr := w.svc.db.Write(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		sc := scope{tx.Tenant(a.TenantID)}
		if err := sc.jobAttemptInsert(ctx, rec); err != nil {
			return err
		}
		switch {
		case gone:
			return sc.jobSetDeadReason(ctx, a.JobID, "gone")
		case refused:
			return sc.jobSetDeadReason(ctx, a.JobID, DeadRefused)
		case bodyGone != nil:
			return sc.jobSetDeadReason(ctx, a.JobID, bodyGone.DeadReason)
		}
		return nil
	})
	if werr != nil {
		w.svc.log.Warn("record job attempt", "job", a.JobID, "err", werr)
	}
	switch {
	case gone:
		return river.JobCancel(errGone)
	case refused:
		return river.JobCancel(err)
	case bodyGone != nil:
		return river.JobCancel(bodyGone)
	case err == nil && status >= 200 && status <= 299:
		return nil
	case err != nil:
		return err
	}
	return fmt.Errorf("target answered %d: %s", status, firstLine(body))
}

// call makes one signed request and returns the status and a truncated body.
// A Retry-After on a failure is remembered for NextRetry.
func (w *pushWorker) call(ctx context.Context, job *river.Job[PushArgs]) (int, string, error) {
	a := job.Args
	secrets, err := w.svc.liveSecrets(ctx, a.TenantID)
	if err != nil {
		return 0, "", fmt.Errorf("load signing secret: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(a.TimeoutMS)*time.Millisecond)
	defer cancel()
	raw := []byte(a.Body)
	source, ref := a.bodyFrom()
	switch {
	case source != "":
		if raw, err = w.svc.readBody(ctx, a.TenantID, source, ref); err != nil {
			return 0, "", err
		}
	case a.BodyBase64 != "":
		if raw, err = base64.StdEncoding.DecodeString(a.BodyBase64); err != nil {
			return 0, "", err
		}
	}
	var body io.Reader
	if len(raw) > 0 {
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, a.Method, a.URL, body)
	if err != nil {
		return 0, "", err
	}
	for k, v := range a.Headers {
		req.Header.Set(k, v)
	}
	if a.ContentType != "" {
		req.Header.Set("Content-Type", a.ContentType)
	}
	req.Header.Set("User-Agent", "joist")
	req.Header.Set("Joist-Job-Id", a.JobID)
	req.Header.Set("Joist-Attempt", strconv.Itoa(job.Attempt))
	if a.CorrelationID != "" {
		req.Header.Set("Joist-Correlation-Id", a.CorrelationID)
	}
	// webhook-id is the job id (or the forwarded event's id): stable across
	// attempts, so the app can dedup.
	whID := a.JobID
	if a.WebhookID != "" {
		whID = a.WebhookID
	}
	if err := signing.Sign(req.Header, secrets, whID, w.svc.now(), raw); err != nil {
		return 0, "", err
	}
	resp, err := w.client.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return 0, "", fmt.Errorf("no answer within the job's timeout (%s)", time.Duration(a.TimeoutMS)*time.Millisecond)
		}
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), w.svc.now()); ok {
			w.retryAfter.Store(fmt.Sprint(job.ID, ":", job.Attempt), min(d, w.svc.opts.RetryAfterCap))
		}
	}
	return resp.StatusCode, string(b), nil
}

// readBody asks the job's body source for its body.
func (s *Service) readBody(ctx context.Context, tenantID, source, ref string) ([]byte, error) {
	read, ok := s.opts.Bodies[source]
	if !ok {
		return nil, fmt.Errorf("body source %q is not registered on this node", source)
	}
	var raw []byte
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		raw, err = read(ctx, tx.Tenant(tenantID), ref)
		return err
	})
	var gone *GoneError
	if err != nil && !errors.As(err, &gone) {
		return nil, fmt.Errorf("read the job's body from %s: %w", source, err)
	}
	return raw, err
}

// parseRetryAfter reads delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// NoopArgs is a built-in job that does nothing (benchmarks, health checks).
type NoopArgs struct{}

// Kind names no-op jobs.
func (NoopArgs) Kind() string { return "noop" }

type noopWorker struct {
	river.WorkerDefaults[NoopArgs]
}

func (noopWorker) Work(context.Context, *river.Job[NoopArgs]) error { return nil }
