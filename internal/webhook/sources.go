// Package webhook receives providers' webhooks: per-tenant sources, signature
// verification on the raw bytes (internal/webhook/verify), deduplication by
// the provider's event id in the same transaction that stores the event, an
// answer only after commit, a bounded log of rejected requests, and delivery
// to the app as signed HTTP-push jobs, with replay.
package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/secretbox"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/webhook/verify"
)

// Options configure the service.
type Options struct {
	// BaseURL is JOIST_PUBLIC_URL (or the derived one): ingest URLs and
	// Twilio's signed URL are built from it.
	BaseURL string
	// RejectionsKept is how many rejected requests each source keeps.
	RejectionsKept int
	// ForwardMaxAttempts of a forward job.
	ForwardMaxAttempts int
	// Handlers are the providers' built-in handlers, by provider: each new
	// event of a source of that provider enqueues its job in the ingest
	// transaction (billing registers Stripe's).
	Handlers map[string]Handler
	// Retention is how long events are kept (JOIST_WEBHOOK_RETENTION; 0
	// keeps them forever): Maintain purges older ones.
	Retention time.Duration
}

// Handler is a provider's built-in handler, registered (Options.Handlers)
// by the system that owns it. For each newly stored event of a source of
// its provider, unless the source turned it off, EnqueueTx enqueues its
// built-in job inside the ingest transaction tx; an error fails the
// delivery, so the provider retries it.
type Handler interface {
	EnqueueTx(ctx context.Context, tx *store.Tx, tenantID string, src SourceRecord, ev Event) error
}

// Service manages sources and receives events.
type Service struct {
	core *core.Service
	jobs *jobs.Service
	db   *store.DB
	box  *secretbox.Box
	opts Options
	log  *slog.Logger

	received *prometheus.CounterVec

	cacheMu sync.Mutex
	cache   map[string]*cachedSource

	batch batcher // concurrent deliveries share one write (batch.go)
}

// New builds the webhook service on d. c checks access and writes audit
// entries, js enqueues forwards, box seals the sources' secrets. Forwards
// read their body through the EventBodySource hook, which the jobs service
// must have been given (app does).
func New(d core.Deps, c *core.Service, js *jobs.Service, box *secretbox.Box, opts Options) *Service {
	d = d.For("webhook")
	if opts.RejectionsKept == 0 {
		opts.RejectionsKept = 100
	}
	if opts.ForwardMaxAttempts == 0 {
		opts.ForwardMaxAttempts = 15
	}
	s := &Service{core: c, jobs: js, db: d.DB, box: box, opts: opts, log: d.Log, cache: map[string]*cachedSource{},
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "joist_webhook_requests_total",
			Help: "Inbound webhook requests by provider and result (accepted, duplicate, or the rejection code).",
		}, []string{"provider", "result"})}
	d.Register(s.received)
	return s
}

// SecretInput is one signing secret of a source, as the API receives it.
type SecretInput struct {
	Secret    string
	ExpiresAt *time.Time
}

// SourceInput creates or replaces a source.
type SourceInput struct {
	Provider     string
	Secrets      []SecretInput
	Tolerance    string
	ForwardURL   string
	ForwardTypes []string
	// Generic HMAC and event id/type locations.
	Header, Algorithm, Encoding, Prefix string
	IDHeader, IDPointer, TypePointer    string
	// ContactPointer, a JSON pointer to the app's contact id in the body,
	// puts each event that names a known contact on that contact's timeline.
	ContactPointer string
	// Billing turns the built-in Stripe billing handler on or off for a
	// stripe source (nil: on). Only a stripe source has it.
	Billing *bool
}

// sourceConfig is what is stored; secret values are sealed.
type sourceConfig struct {
	Secrets     []sealedSecret `json:"secrets"`
	Tolerance   string         `json:"tolerance,omitempty"`
	Header      string         `json:"header,omitempty"`
	Algorithm   string         `json:"algorithm,omitempty"`
	Encoding    string         `json:"encoding,omitempty"`
	Prefix      string         `json:"prefix,omitempty"`
	IDHeader    string         `json:"id_header,omitempty"`
	IDPointer   string         `json:"id_pointer,omitempty"`
	TypePointer string         `json:"type_pointer,omitempty"`
	// ContactPointer locates the app's contact id in the body.
	ContactPointer string `json:"contact_pointer,omitempty"`
	// NoBilling turns the source's built-in handler (Options.Handlers) off:
	// "billing": false in the API, which only a stripe source has.
	NoBilling bool `json:"no_billing,omitempty"`
}

type sealedSecret struct {
	Sealed    string     `json:"sealed"`
	Hint      string     `json:"hint"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// Source is a source as users see it (secrets only as hints).
type Source struct {
	SourceRecord
	Settings  sourceConfig
	IngestURL string
}

// Billing reports whether the source's events update Stripe billing state.
func (s Source) Billing() bool { return s.Provider == "stripe" && !s.Settings.NoBilling }

var sourceNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

func hint(secret string) string {
	if len(secret) <= 10 {
		return strings.Repeat("*", len(secret))
	}
	return secret[:8] + "..." + secret[len(secret)-2:]
}

// verifyConfig builds the verifier's configuration from input or storage.
func (c sourceConfig) verifyConfig(provider string, secrets []verify.Secret) (verify.Config, error) {
	tol := time.Duration(0)
	if c.Tolerance != "" {
		d, err := time.ParseDuration(c.Tolerance)
		if err != nil || d < time.Second || d > 24*time.Hour {
			return verify.Config{}, core.Invalid("invalid_tolerance", "tolerance %q must be a duration from 1s to 24h, such as \"300s\"", c.Tolerance)
		}
		tol = d
	}
	return verify.Config{Provider: verify.Provider(provider), Secrets: secrets, Tolerance: tol, Header: c.Header, Algorithm: c.Algorithm,
		Encoding: c.Encoding, Prefix: c.Prefix, IDHeader: c.IDHeader, IDPointer: c.IDPointer, TypePointer: c.TypePointer}, nil
}

// PutSource creates or replaces a tenant's source. The whole input is
// checked (the verifier's own validation included) before anything is stored.
func (s *Service) PutSource(ctx context.Context, a auth.Actor, tenantID, name string, in SourceInput) (Source, bool, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermKeysManage); err != nil {
		return Source{}, false, err
	}
	if !sourceNameRE.MatchString(name) {
		return Source{}, false, core.Invalid("invalid_name", "source name %q must be 1-63 characters of a-z, 0-9, '_' and '-'", name)
	}
	cfg := sourceConfig{Tolerance: in.Tolerance, Header: in.Header, Algorithm: in.Algorithm, Encoding: in.Encoding, Prefix: in.Prefix,
		IDHeader: in.IDHeader, IDPointer: in.IDPointer, TypePointer: in.TypePointer, ContactPointer: in.ContactPointer}
	if in.Billing != nil {
		if in.Provider != "stripe" {
			return Source{}, false, core.Invalid("invalid_billing", "billing is the built-in Stripe billing handler: only a stripe source has it; leave billing out for a %s source", in.Provider)
		}
		cfg.NoBilling = !*in.Billing
	}
	if in.ContactPointer != "" {
		if err := verify.CheckPointer(in.ContactPointer); err != nil {
			return Source{}, false, core.Invalid("invalid_contact_pointer", "contact_pointer %q is not a JSON pointer such as /data/user_id: %v", in.ContactPointer, err)
		}
	}
	var plain []verify.Secret
	for i, sec := range in.Secrets {
		if strings.TrimSpace(sec.Secret) == "" {
			return Source{}, false, core.Invalid("invalid_secret", "secrets[%d].secret is empty", i)
		}
		plain = append(plain, verify.Secret{Value: sec.Secret, ExpiresAt: sec.ExpiresAt})
		cfg.Secrets = append(cfg.Secrets, sealedSecret{Sealed: s.box.Seal([]byte(sec.Secret)), Hint: hint(sec.Secret), ExpiresAt: sec.ExpiresAt})
	}
	vc, err := cfg.verifyConfig(in.Provider, plain)
	if err != nil {
		return Source{}, false, err
	}
	if err := vc.Validate(); err != nil {
		return Source{}, false, core.Invalid("invalid_source", "%v", err)
	}
	if in.ForwardURL != "" {
		// Forwards are HTTP-push jobs: their destination follows the
		// egress rules of jobs, checked here (400 invalid_url or
		// host_not_allowed) and again at every attempt.
		if err := s.jobs.CheckDestination("forward_url", in.ForwardURL); err != nil {
			return Source{}, false, err
		}
	}
	for _, t := range in.ForwardTypes {
		if t == "" || len(t) > 200 {
			return Source{}, false, core.Invalid("invalid_forward_types", "forward_types holds an empty or over-long type")
		}
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return Source{}, false, err
	}
	now := s.core.Now()
	src := SourceRecord{ID: store.NewID("src_"), Name: name, Provider: in.Provider, Config: raw, ForwardURL: in.ForwardURL,
		ForwardTypes: in.ForwardTypes, CreatedAt: now, UpdatedAt: now}
	var created bool
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		src, created, err = sourcePut(ctx, tx.Tenant(tenantID), src)
		if err != nil {
			return err
		}
		action := "webhook_source.update"
		if created {
			action = "webhook_source.create"
		}
		return s.core.Audit(ctx, tx, a, tenantID, action, "webhook_source", src.ID,
			map[string]any{"after": map[string]any{"provider": in.Provider, "secrets": len(in.Secrets), "forward": in.ForwardURL != ""}})
	})
	if err != nil {
		return Source{}, false, err
	}
	s.forget()
	return s.view(ctx, tenantID, src), created, nil
}

func (s *Service) view(ctx context.Context, tenantID string, src SourceRecord) Source {
	v := Source{SourceRecord: src}
	_ = json.Unmarshal(src.Config, &v.Settings)
	for i := range v.Settings.Secrets {
		v.Settings.Secrets[i].Sealed = ""
	}
	slug := tenantID
	_ = s.db.Read(ctx, func(tx *store.Tx) error {
		t, err := tx.TenantGet(ctx, tenantID)
		slug = t.Slug
		return err
	})
	v.IngestURL = strings.TrimRight(s.opts.BaseURL, "/") + "/in/" + slug + "/" + src.Name
	return v
}

// GetSource returns one source.
func (s *Service) GetSource(ctx context.Context, a auth.Actor, tenantID, name string) (Source, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return Source{}, err
	}
	var src SourceRecord
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		src, err = sourceGet(ctx, tx.Tenant(tenantID), name)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return Source{}, core.NotFound("webhook source %q not found", name)
	}
	if err != nil {
		return Source{}, err
	}
	return s.view(ctx, tenantID, src), nil
}

// ListSources lists a tenant's sources.
func (s *Service) ListSources(ctx context.Context, a auth.Actor, tenantID string) ([]Source, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return nil, err
	}
	var list []SourceRecord
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		list, err = sourceList(ctx, tx.Tenant(tenantID))
		return err
	})
	out := make([]Source, 0, len(list))
	for _, src := range list {
		out = append(out, s.view(ctx, tenantID, src))
	}
	return out, err
}

// DeleteSource deletes a source and its events.
func (s *Service) DeleteSource(ctx context.Context, a auth.Actor, tenantID, name string) error {
	if err := s.core.TenantAccess(a, tenantID, auth.PermKeysManage); err != nil {
		return err
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		sc := tx.Tenant(tenantID)
		src, err := sourceGet(ctx, sc, name)
		if err != nil {
			return err
		}
		if err := sourceDelete(ctx, sc, src.ID); err != nil {
			return err
		}
		return s.core.Audit(ctx, tx, a, tenantID, "webhook_source.delete", "webhook_source", src.ID, nil)
	})
	if errors.Is(err, store.ErrNotFound) {
		return core.NotFound("webhook source %q not found", name)
	}
	s.forget()
	return err
}
