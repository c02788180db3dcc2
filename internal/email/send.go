package email

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/joist-dev/joist/internal/store"
)

// Provider sends one message. It is given the stored email and its
// message built (RFC 5322, DKIM-signed where joist signs).
type Provider interface {
	// Name is the provider's name in JOIST_EMAIL_PROVIDER and on each email.
	Name() string
	// Send sends m. A *SendError says whether a failure is permanent
	// (not retried); any other error is transient.
	Send(ctx context.Context, m *Message) (Result, error)
}

// Message is what a provider sends: the stored email, its envelope and
// its RFC 5322 form.
type Message struct {
	Email Email
	// EnvelopeFrom is the bare sender address (MAIL FROM).
	EnvelopeFrom string
	// Recipients are the bare addresses of to, cc and bcc (RCPT TO).
	Recipients []string
	// Raw is the whole message, headers and body, with CRLF line ends.
	Raw []byte
}

// Result is a provider's answer to a send.
type Result struct {
	// Status is StatusSent, or StatusCaptured for the outbox.
	Status string
	// ProviderID is the provider's id of the message, when it gives one.
	ProviderID string
	// Reply is the provider's answer, for the email's events.
	Reply string
}

// SendError is a failed send. Permanent failures (an SMTP 5xx, a refused
// address) are not retried; others are, with backoff.
type SendError struct {
	Permanent bool
	Err       error
	// RetryAfter, when set on a transient failure, is the least delay
	// before the next attempt (a provider's Retry-After on a 429).
	RetryAfter time.Duration
}

func (e *SendError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *SendError) Unwrap() error { return e.Err }

// Outbox captures every message and sends nothing: the default provider
// with no configuration, for development; the admin shows what it caught.
type Outbox struct{}

// Name is "outbox".
func (Outbox) Name() string { return "outbox" }

// Send captures m.
func (Outbox) Send(context.Context, *Message) (Result, error) {
	return Result{Status: StatusCaptured, Reply: "captured by the outbox; not sent"}, nil
}

type sendWorker struct {
	river.WorkerDefaults[SendArgs]
	svc *Service
	// maxTimeout is the job engine's JOIST_JOB_MAX_TIMEOUT.
	maxTimeout time.Duration
	// retryAfter holds a failed attempt's least delay ("jobID:attempt"),
	// from Work to NextRetry, as HTTP-push jobs do.
	retryAfter sync.Map
}

// Timeout bounds one attempt (an SMTP conversation with a large message):
// 2 minutes, or JOIST_JOB_MAX_TIMEOUT when that is shorter. River rescues a
// job left running by a dead node only once its own timeout has passed, so
// without the cap a send in flight at a kill -9 waited 2 minutes whatever
// JOIST_JOB_MAX_TIMEOUT said.
func (w *sendWorker) Timeout(*river.Job[SendArgs]) time.Duration {
	if m := w.maxTimeout; m > 0 && m < 2*time.Minute {
		return m
	}
	return 2 * time.Minute
}

// NextRetry backs off exponentially from 1 s, doubling to at most an
// hour, with ±20% jitter, as HTTP-push jobs do: a relay that is briefly
// down is retried soon, one that stays down is not hammered. A provider's
// Retry-After is the least delay (capped at an hour).
func (w *sendWorker) NextRetry(job *river.Job[SendArgs]) time.Time {
	d := time.Second << min(job.Attempt-1, 12)
	d = min(d, time.Hour)
	d = time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	if v, ok := w.retryAfter.LoadAndDelete(fmt.Sprint(job.ID, ":", job.Attempt)); ok {
		d = max(d, min(v.(time.Duration), time.Hour))
	}
	return time.Now().Add(d)
}

func (w *sendWorker) Work(ctx context.Context, job *river.Job[SendArgs]) error {
	err := w.svc.deliver(ctx, job.Args.TenantID, job.Args.EmailID, job.Attempt >= job.MaxAttempts)
	var se *SendError
	if errors.As(err, &se) && se.RetryAfter > 0 {
		w.retryAfter.Store(fmt.Sprint(job.ID, ":", job.Attempt), se.RetryAfter)
	}
	return err
}

// finish records a send's outcome: the email's status, an event and a
// timeline entry. A transient failure is returned so that River retries.
// provider names the provider the email went through.
func (s *Service) finish(ctx context.Context, e Email, provider string, res Result, sendErr error, lastAttempt bool) error {
	now := s.now()
	var se *SendError
	permanent := errors.As(sendErr, &se) && se.Permanent
	ev := Event{EmailID: e.ID, CreatedAt: now}
	var tlKind, tlSummary string
	e.Provider, e.UpdatedAt = provider, now
	switch {
	case sendErr == nil && res.Status == StatusSuppressed:
		e.Status, e.Provider = StatusSuppressed, ""
		ev.Type, ev.Detail = StatusSuppressed, res.Reply
		tlKind, tlSummary = "email.suppressed", fmt.Sprintf("Email %q not sent: %s", e.Subject, res.Reply)
	case sendErr == nil:
		e.Status, e.ProviderID, e.Error, e.SentAt = res.Status, store.SafeText(res.ProviderID), "", &now
		ev.Type, ev.Detail = res.Status, store.SafeText(res.Reply)
		tlKind, tlSummary = "email."+res.Status, fmt.Sprintf("Email %q %s to %s", e.Subject, res.Status, strings.Join(e.To, ", "))
	case permanent || lastAttempt:
		e.Status, e.Error = StatusFailed, store.SafeText(sendErr.Error())
		ev.Type, ev.Detail = StatusFailed, e.Error
		tlKind, tlSummary = "email.failed", fmt.Sprintf("Email %q failed: %s", e.Subject, e.Error)
	default:
		ev.Type, ev.Detail = "deferred", store.SafeText(sendErr.Error())
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		sc := tx.Tenant(e.TenantID)
		q := scope{sc}
		if tlKind == "" {
			return q.eventInsert(ctx, ev)
		}
		if err := q.emailFinishWith(ctx, e, ev); err != nil {
			return err
		}
		return s.timeline(ctx, sc, e, tlKind, tlSummary, now)
	})
	if err != nil {
		return err
	}
	if sendErr != nil && !permanent {
		// Transient: River retries with backoff (on the last attempt the
		// email is already failed and the job ends dead).
		return sendErr
	}
	return nil
}
