package email

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/egress"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/secretbox"
	"github.com/joist-dev/joist/internal/store"
)

// Statuses of an email.
const (
	StatusQueued   = "queued"   // accepted; its send job waits or retries
	StatusSent     = "sent"     // the provider accepted it
	StatusCaptured = "captured" // the outbox kept it; never sent
	StatusFailed   = "failed"   // refused for good, or out of attempts
)

// Statuses lists every status, for filters (the delivery statuses are in
// events.go).
var Statuses = []string{StatusQueued, StatusSent, StatusCaptured, StatusFailed, StatusDeliveryDelayed, StatusDelivered, StatusBounced,
	StatusComplained, StatusSuppressed}

// MaxBatch is the most emails one POST /v1/emails/batch holds.
const MaxBatch = 100

// Options configure the email system.
type Options struct {
	// Provider sends the messages of tenants without their own provider
	// settings (default: the outbox, which captures them and sends nothing).
	Provider Provider
	// Instance are the instance's provider settings from the configuration,
	// shown (as hints) by GET /v1/email/settings to the root key.
	Instance ProviderSettings
	// Rate is the most provider requests a second across every node
	// sharing the database (JOIST_EMAIL_RATE; 0: the provider's
	// DefaultRate, unlimited when it has none).
	Rate int
	// MaxBodyBytes is the send routes' body limit (JOIST_EMAIL_MAX_BYTES,
	// default 10 MiB).
	MaxBodyBytes int64
	// MaxAttachmentBytes bounds the decoded attachments of one email
	// (default: 70% of MaxBodyBytes, about what base64 and the JSON leave).
	MaxAttachmentBytes int
	// MaxAttempts of an email_send job (default 12: about 8 hours of
	// River's backoff for a relay that stays down).
	MaxAttempts int
	// Box seals the DKIM private keys at rest (JOIST_SECRET_KEY).
	Box *secretbox.Box
	// DNSServer is the resolver of the domain checks (JOIST_DNS_SERVER,
	// host:port; "" is the first nameserver of /etc/resolv.conf).
	DNSServer string
	// Events reads the stored webhook event an email_event job names
	// (webhook.StoredEvent): delivery events of Resend and Postmark sources.
	Events EventReader
	// PublicURL is joist's public base URL (JOIST_PUBLIC_URL): the
	// unsubscribe links of marketing mail point at it.
	PublicURL string
	// UnsubscribeKey signs unsubscribe links (derived from
	// JOIST_SECRET_KEY); marketing mail cannot be sent without it.
	UnsubscribeKey []byte
	// NotificationUnsubscribe records a one-click unsubscribe from a
	// notification scope (Input.UnsubscribeScope): the notification
	// system mutes the type or group's email for the address's contacts.
	// Without it such links are refused as unknown.
	NotificationUnsubscribe func(ctx context.Context, u Unsubscription) error
}

// Service accepts emails, sends them as jobs and keeps their log.
type Service struct {
	core *core.Service
	jobs *jobs.Service
	db   *store.DB
	log  *slog.Logger
	now  func() time.Time
	opts Options
	keys keyCache // opened DKIM keys
	// egress is the guarded client tenants' own providers go through.
	egress *egress.Guard
	// tenantProvs are the providers built from tenants' own settings.
	tenantProvs tenantProviders
	// parsed keeps parsed templates and layouts by their source.
	parsed parseCache
}

// New builds the email system on d and registers its email_send worker
// (call it before the job engine starts). c checks access and writes
// audit entries; js enqueues the send jobs.
func New(d core.Deps, c *core.Service, js *jobs.Service, opts Options) *Service {
	d = d.For("email")
	if opts.Provider == nil {
		opts.Provider = Outbox{}
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = 10 << 20
	}
	if opts.MaxAttachmentBytes == 0 {
		opts.MaxAttachmentBytes = int(opts.MaxBodyBytes / 10 * 7)
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 12
	}
	if opts.Rate == 0 {
		if dr, ok := opts.Provider.(interface{ DefaultRate() int }); ok {
			opts.Rate = dr.DefaultRate()
		}
	}
	if opts.Rate > 0 && opts.Provider.Name() != (Outbox{}).Name() {
		opts.Provider = rateLimited{Provider: opts.Provider, lim: newRateLimiter(d.DB, opts.Provider.Name(), opts.Rate, d.Now)}
	}
	s := &Service{core: c, jobs: js, db: d.DB, log: d.Log, now: d.Now, opts: opts, egress: d.Egress}
	jobs.AddWorker(js.Engine(), &sendWorker{svc: s, maxTimeout: js.Engine().Options().MaxTimeout})
	jobs.AddWorker(js.Engine(), &eventWorker{svc: s})
	return s
}

// ProviderName is the instance's provider's name (outbox, smtp, ...).
func (s *Service) ProviderName() string { return s.opts.Provider.Name() }

// SendArgs is the built-in job sending one stored email.
type SendArgs struct {
	TenantID string `json:"tenant_id"`
	EmailID  string `json:"email_id"`
}

// Kind names the job.
func (SendArgs) Kind() string { return "email_send" }

// Send validates an email whole, then stores it and its send job in one
// transaction. key is the request's Idempotency-Key (or ""): it is kept
// with the email, so a retry after a crash finds it instead of sending again.
func (s *Service) Send(ctx context.Context, a auth.Actor, tenantID, key string, in Input) (Email, error) {
	return s.SendWithin(ctx, a, tenantID, key, in, Within{})
}

// Within is the caller's work inside an accept's transaction: Before
// ahead of any write, After once the emails are stored. The HTTP API keeps
// the request's Idempotency-Key record there, so that it commits with the
// emails and their send jobs, never without them, in one commit.
type Within struct {
	Before func(ctx context.Context, tx *store.Tx) error
	After  func(ctx context.Context, tx *store.Tx, out []Email) error
}

// SendWithin is Send with w run inside its transaction.
func (s *Service) SendWithin(ctx context.Context, a auth.Actor, tenantID, key string, in Input, w Within) (Email, error) {
	out, err := s.sendMany(ctx, a, tenantID, key, []Input{in}, false, w)
	if err != nil {
		return Email{}, err
	}
	return out[0], nil
}

// Batch accepts up to MaxBatch emails: all of them, or (bad input in one)
// none, the error naming which.
func (s *Service) Batch(ctx context.Context, a auth.Actor, tenantID, key string, in []Input) ([]Email, error) {
	return s.BatchWithin(ctx, a, tenantID, key, in, Within{})
}

// BatchWithin is Batch with w run inside its transaction.
func (s *Service) BatchWithin(ctx context.Context, a auth.Actor, tenantID, key string, in []Input, w Within) ([]Email, error) {
	switch {
	case len(in) == 0:
		return nil, invalidf("emails", "emails_required", "give 1 to %d emails", MaxBatch)
	case len(in) > MaxBatch:
		return nil, invalidf("emails", "too_many_emails", "%d emails; at most %d per batch", len(in), MaxBatch)
	}
	return s.sendMany(ctx, a, tenantID, key, in, true, w)
}

func (s *Service) sendMany(ctx context.Context, a auth.Actor, tenantID, key string, in []Input, batch bool, w Within) ([]Email, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermJobsWrite); err != nil {
		return nil, err
	}
	now := s.now()
	cs := make([]checked, len(in))
	for i := range in {
		prefix := ""
		if batch {
			prefix = fmt.Sprintf("emails[%d].", i)
		}
		var err error
		if cs[i], err = s.check(prefix, in[i], now); err != nil {
			return nil, err
		}
		cs[i].IdempotencyKey = idemKey(key, batch, i)
	}
	batchErr := func(i int, err error) error {
		if ce, ok := err.(*core.Error); ok && batch {
			ce.Message = fmt.Sprintf("emails[%d]: %s", i, ce.Message)
			if ce.Field != "" {
				ce.Field = fmt.Sprintf("emails[%d].%s", i, ce.Field)
			}
		}
		return err
	}
	// On SQLite, what a send reads and renders is done before its write,
	// on a reader, so that the single writer only writes (the group commit
	// is serial); a key already used is left to the write, which replays
	// it. On PostgreSQL it stays in the write: no writer to spare, and one
	// transaction fewer.
	prepared := make([]*Email, len(cs))
	if s.db.Dialect() == store.SQLite {
		err := s.db.Read(ctx, func(tx *store.Tx) error {
			sc := tx.Tenant(tenantID)
			for i := range cs {
				if cs[i].IdempotencyKey != "" {
					_, err := scope{sc}.emailGetByKey(ctx, cs[i].IdempotencyKey)
					if err == nil {
						continue
					}
					if !errors.Is(err, store.ErrNotFound) {
						return err
					}
				}
				e, err := s.prepare(ctx, sc, cs[i])
				if err != nil {
					return batchErr(i, err)
				}
				prepared[i] = &e
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	var out []Email
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if w.Before != nil {
			if err := w.Before(ctx, tx); err != nil {
				return err
			}
		}
		out = make([]Email, 0, len(cs))
		sc := tx.Tenant(tenantID)
		for i := range cs {
			e, err := s.store(ctx, tx, sc, a, cs[i], prepared[i], now)
			if err != nil {
				return batchErr(i, err)
			}
			out = append(out, e)
		}
		if w.After != nil {
			return w.After(ctx, tx, out)
		}
		return nil
	})
	return out, err
}

func idemKey(key string, batch bool, i int) string {
	switch {
	case key == "":
		return ""
	case batch:
		return fmt.Sprintf("batch:%d:%s", i, key)
	}
	return "send:" + key
}

// store writes one checked email, its recipients, its queued event, its
// send job and its timeline entry, inside tx; p is the email prepared
// before (nil: prepared here).
func (s *Service) store(ctx context.Context, tx *store.Tx, sc *store.Scope, a auth.Actor, c checked, p *Email, now time.Time) (Email, error) {
	q := scope{sc}
	if c.IdempotencyKey != "" {
		prev, err := q.emailGetByKey(ctx, c.IdempotencyKey)
		if err == nil {
			return prev, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return Email{}, err
		}
	}
	var e Email
	if p != nil {
		e = *p
	} else {
		var err error
		if e, err = s.prepare(ctx, sc, c); err != nil {
			return Email{}, err
		}
	}
	e.ID = store.NewID("em_")
	e.TenantID = sc.TenantID()
	e.Status = StatusQueued
	e.MessageID = e.ID + "@" + domainOf(e.From)
	e.CorrelationID = a.CorrelationID
	e.CreatedAt, e.UpdatedAt = now, now
	// The send job first, so that the email is inserted with its id (no
	// second write of the row).
	opts := &river.InsertOpts{MaxAttempts: s.opts.MaxAttempts}
	if e.SendAt != nil {
		opts.ScheduledAt = *e.SendAt
	}
	jobID, err := s.jobs.EnqueueTx(ctx, tx, e.TenantID, SendArgs{TenantID: e.TenantID, EmailID: e.ID}, opts, e.CorrelationID)
	if err != nil {
		return Email{}, err
	}
	e.JobID = jobID
	detail := ""
	if e.SendAt != nil {
		detail = "scheduled for " + e.SendAt.Format(time.RFC3339)
	}
	if err := q.emailInsertWith(ctx, e, &Event{EmailID: e.ID, Type: StatusQueued, Detail: detail, CreatedAt: now}); err != nil {
		return Email{}, err
	}
	if err := s.timeline(ctx, sc, e, "email.queued", fmt.Sprintf("Email %q queued to %s", e.Subject, strings.Join(e.To, ", ")), now); err != nil {
		return Email{}, err
	}
	return e, nil
}

// prepare resolves a checked email's contact, renders its template and
// checks its sender, reading through sc: the email as it will be stored,
// without its id.
func (s *Service) prepare(ctx context.Context, sc *store.Scope, c checked) (Email, error) {
	e := c.Email
	var contact store.Contact
	if c.contactRef != "" {
		var err error
		contact, err = sc.ContactGet(ctx, c.contactRef)
		if errors.Is(err, store.ErrNotFound) {
			return Email{}, core.NotFound("contact %q not found", c.contactRef)
		}
		if err != nil {
			return Email{}, err
		}
		e.ContactID = contact.ID
		if len(e.To) == 0 {
			if contact.Email == "" {
				return Email{}, invalidf("contact", "contact_has_no_email", "contact %q has no email address; give to", c.contactRef)
			}
			a, err := parseAddress("contact", contact.Email)
			if err != nil {
				return Email{}, invalidf("contact", "contact_has_no_email", "contact %q has no valid email address (%q); give to", c.contactRef, contact.Email)
			}
			e.To = []string{canonical(a)}
		}
	}
	if e.Template != "" {
		var cp *store.Contact
		if c.contactRef != "" {
			cp = &contact
		}
		if err := s.renderSend(ctx, sc, &e, c.data, cp); err != nil {
			return Email{}, err
		}
	}
	if err := s.checkFrom(ctx, sc, e.From); err != nil {
		return Email{}, err
	}
	if c.unsubscribeScope != "" {
		s.scopedUnsubscribe(&e, sc.TenantID(), c.unsubscribeScope)
	}
	if c.preferencesURL != "" {
		addPreferencesFooter(&e, c.preferencesURL)
	}
	return e, nil
}

func domainOf(addr string) string {
	_, d, _ := strings.Cut(bareAddress(addr), "@")
	return strings.ToLower(d)
}

// timeline adds an entry to the email's contact's timeline (none without a contact).
func (s *Service) timeline(ctx context.Context, sc *store.Scope, e Email, kind, summary string, at time.Time) error {
	if e.ContactID == "" {
		return nil
	}
	return sc.TimelineAdd(ctx, store.TimelineEntry{ContactID: e.ContactID, Kind: kind, Summary: summary, RefType: "email", RefID: e.ID,
		CorrelationID: e.CorrelationID, CreatedAt: at})
}

// Detail is an email with its events and contact's external id.
type Detail struct {
	Email
	ContactExternalID string
	Events            []Event
}

// Get returns an email with its events.
func (s *Service) Get(ctx context.Context, a auth.Actor, tenantID, id string) (Detail, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return Detail{}, err
	}
	var d Detail
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		sc := tx.Tenant(tenantID)
		q := scope{sc}
		var err error
		if d.Email, err = q.emailGet(ctx, id); err != nil {
			return err
		}
		if d.Events, err = q.eventList(ctx, id); err != nil {
			return err
		}
		d.ContactExternalID, err = s.contactRef(ctx, sc, d.ContactID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return Detail{}, core.NotFound("email %q not found", id)
	}
	return d, err
}

func (s *Service) contactRef(ctx context.Context, sc *store.Scope, contactID string) (string, error) {
	if contactID == "" {
		return "", nil
	}
	c, err := sc.ContactGetByID(ctx, contactID)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return c.ExternalID, err
}

// ListFilter narrows the email log as the API gives it.
type ListFilter struct {
	Filter
	Contact string // external id
}

// List lists the tenant's emails, newest first, with their contacts' external ids.
func (s *Service) List(ctx context.Context, a auth.Actor, tenantID string, p store.Page, f ListFilter) ([]Detail, string, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return nil, "", err
	}
	for _, st := range f.Statuses {
		if !contains(Statuses, st) {
			return nil, "", core.Invalid("invalid_status", "status %q is not one of %s", st, strings.Join(Statuses, ", "))
		}
	}
	out := []Detail{}
	var next string
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		sc := tx.Tenant(tenantID)
		if f.Contact != "" {
			c, err := sc.ContactGet(ctx, f.Contact)
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			f.ContactID = c.ID
		}
		items, n, err := scope{sc}.emailList(ctx, p, f.Filter)
		if err != nil {
			return err
		}
		next = n
		refs := map[string]string{}
		for _, e := range items {
			if _, ok := refs[e.ContactID]; !ok {
				if refs[e.ContactID], err = s.contactRef(ctx, sc, e.ContactID); err != nil {
					return err
				}
			}
			out = append(out, Detail{Email: e, ContactExternalID: refs[e.ContactID]})
		}
		return nil
	})
	return out, next, err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
