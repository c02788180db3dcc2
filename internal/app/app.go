// Package app wires joist's services together, by hand and in one place, and
// runs them: the store, the core service, the HTTP API, the admin dashboard,
// and (in later systems) the workers. Every long-lived service has Start and
// an idempotent Stop, and a failed start stops what had already started.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/joist-dev/joist/internal/admin"
	"github.com/joist-dev/joist/internal/billing"
	"github.com/joist-dev/joist/internal/config"
	"github.com/joist-dev/joist/internal/contacts"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/egress"
	"github.com/joist-dev/joist/internal/email"
	"github.com/joist-dev/joist/internal/httpapi"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/metrics"
	"github.com/joist-dev/joist/internal/notify"
	"github.com/joist-dev/joist/internal/operators"
	"github.com/joist-dev/joist/internal/schedules"
	"github.com/joist-dev/joist/internal/secretbox"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/tenants"
	"github.com/joist-dev/joist/internal/webhook"
)

// App is one joist process.
type App struct {
	Config  config.Config
	Log     *slog.Logger
	DB      *store.DB
	Core    *core.Service
	API     *httpapi.API
	Admin   *admin.Admin
	Metrics *metrics.Metrics
	// Tenants creates tenants and manages their keys.
	Tenants *tenants.Service
	// Contacts writes and searches contacts and reads their timelines.
	Contacts *contacts.Service
	// Operators invites and changes the dashboard's operators.
	Operators *operators.Service
	Jobs      *jobs.Service
	// Email sends transactional email and keeps its log.
	Email *email.Service
	// Notify is the notification system (types, events, preferences).
	Notify *notify.Service
	// Webhooks receives providers' webhooks.
	Webhooks *webhook.Service
	// Billing keeps subscription state from Stripe events.
	Billing *billing.Service
	// Schedules is durable cron; its scheduler runs on every node.
	Schedules *schedules.Service
	// Push is the notifications' push channel (web push, FCM, APNs).
	Push *notify.Push
	// Feed is the end user's in-app notification feed and its stream.
	Feed *notify.Feed
	// Deps is what every system's service shares (store, clock, logger,
	// metrics registry), as handed to their constructors.
	Deps core.Deps
	// Bootstrap holds credentials generated on this start (to print once).
	Bootstrap core.BootstrapResult

	handler  http.Handler
	server   *http.Server
	listener net.Listener
	stopOnce sync.Once
	services []service
}

// service is the lifecycle every long-lived service follows.
type service interface {
	Start(ctx context.Context) error
	Stop()
}

// New opens the store, migrates it, makes sure the instance can be reached
// (root key, owner) and builds every service. It starts nothing.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	a := &App{Config: cfg, Log: log, Metrics: metrics.New()}
	secretKey, err := cfg.SecretKeyBytes()
	if err != nil {
		return nil, err
	}
	box, err := secretbox.New(secretKey)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, store.Options{URL: cfg.DatabaseURL, Schema: cfg.DatabaseSchema, DataDir: cfg.DataDir, Logger: log.With("service", "store"), Observer: a.Metrics})
	if err != nil {
		return nil, err
	}
	a.DB = db
	res, err := db.Migrate(ctx, Migrations()...)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if len(res.Applied) > 0 {
		log.Info("migrated database", "applied", res.Applied, "dialect", db.Dialect())
	}
	a.Core = core.New(db, time.Now, log.With("service", "core"), core.Options{SessionTTL: cfg.SessionTTL})
	// Every system gets the same store, clock (the core's: UTC, to the
	// microsecond, as stored), logger, metrics registry and guarded
	// outbound client.
	guard, err := egress.New(cfg.EgressPolicy(), egress.Options{})
	if err != nil {
		db.Close()
		return nil, err
	}
	a.Deps = core.Deps{DB: db, Log: log, Now: a.Core.Now, Metrics: a.Metrics.Registry, Egress: guard}
	a.Tenants = tenants.New(a.Deps, a.Core)
	a.Contacts = contacts.New(a.Deps, a.Core)
	a.Operators = operators.New(a.Deps, a.Core, operators.Options{})
	engine := jobs.NewEngine(a.Deps, jobs.EngineOptions{
		Queues: cfg.QueueWorkers, MaxTimeout: cfg.JobMaxTimeout, FetchPollInterval: cfg.JobPollInterval,
		CompletedRetention: cfg.CompletedJobRetention, DeadRetention: cfg.DeadJobRetention,
	})
	// Hooks between systems: forwards read their body from the webhook
	// system's stored events (jobs never reads a webhook table), and a
	// Stripe source's events enqueue billing's job, which reads the event
	// through the webhook system's reader (billing never reads a webhook table).
	a.Jobs = jobs.NewService(a.Deps, a.Core, engine, box, jobs.Options{RetryAfterCap: cfg.RetryAfterCap,
		Bodies: map[string]jobs.BodySource{webhook.EventBodySource: webhook.EventBody}})
	if err := engine.Migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate job engine: %w", err)
	}
	a.Schedules = schedules.New(a.Deps, a.Core, a.Jobs, schedules.Options{})
	clientIP := httpapi.ClientIPFunc(cfg.Trusted)
	a.Billing = billing.New(a.Deps, a.Core, a.Jobs, billing.Options{Events: webhook.StoredEvent,
		StripeAPIKey: cfg.StripeAPIKey, StripeAPIBase: cfg.StripeAPIBase})
	provider, err := emailProvider(cfg, guard)
	if err != nil {
		db.Close()
		return nil, err
	}
	// The email system is the built-in handler of Resend and Postmark
	// sources (delivery events), reading them as billing does.
	a.Email = email.New(a.Deps, a.Core, a.Jobs, email.Options{MaxBodyBytes: cfg.EmailMaxBytes, Provider: provider,
		Instance: email.ProviderSettings{Provider: provider.Name(), SMTPURL: cfg.SMTPURL, ResendAPIKey: cfg.ResendAPIKey,
			ResendAPIBase: cfg.ResendAPIBase, PostmarkServerToken: cfg.PostmarkServerToken, PostmarkAPIBase: cfg.PostmarkAPIBase},
		Rate: int(cfg.EmailRate), Box: box, DNSServer: cfg.DNSServer, Events: webhook.StoredEvent, PublicURL: cfg.BaseURL(),
		UnsubscribeKey: secretbox.DeriveKey(secretKey, "email unsubscribe links"),
		// A notification email's one-click link mutes its type or group in
		// the contact's preferences (a.Notify is built just below).
		NotificationUnsubscribe: func(ctx context.Context, u email.Unsubscription) error { return a.Notify.EmailUnsubscribe(ctx, u) }})
	pushOpts, err := pushOptions(cfg, guard, box, a.Core)
	if err != nil {
		db.Close()
		return nil, err
	}
	// The feed authenticates contact tokens and answers CORS for push's
	// browser routes too, and holds each tenant's VAPID subject.
	a.Feed = notify.NewFeed(a.Deps, a.Core, notify.FeedOptions{Box: box, Heartbeat: cfg.FeedHeartbeat,
		Preferences: notifyPreferences{a}})
	pushOpts.ContactAuth, pushOpts.CORS, pushOpts.Subject = a.Feed, a.Feed.CORS, a.Feed.VAPIDSubject
	a.Push = notify.NewPush(a.Deps, a.Core, pushOpts)
	// The notification system sends its email channel through the email
	// system and its push channel through Push; a push delivery's job
	// records its outcome on the notification system (a.Notify, built
	// here).
	pushFinish := func(ctx context.Context, tenantID string, rs []notify.DeliveryResult) error {
		return a.Notify.DeliveriesFinish(ctx, tenantID, rs)
	}
	a.Notify = notify.New(a.Deps, a.Core, a.Jobs, notify.Options{Email: notify.EmailService(a.Email), EmailFrom: cfg.NotifyEmailFrom,
		Push: notify.PushChannel(a.Push, a.Jobs, pushFinish), Feed: a.Feed,
		PublicURL: cfg.BaseURL(), PrefsKey: secretbox.DeriveKey(secretKey, "notification preference links")})
	handlers := map[string]webhook.Handler{"stripe": a.Billing}
	for _, p := range email.DeliveryProviders {
		handlers[p] = a.Email
	}
	a.Webhooks = webhook.New(a.Deps, a.Core, a.Jobs, box, webhook.Options{BaseURL: cfg.BaseURL(), Retention: cfg.WebhookRetention,
		Handlers: handlers})
	a.API, err = httpapi.New(a.Core, a.Metrics, log.With("service", "api"), httpapi.Options{
		RootKey: cfg.RootKey, MaxBodyBytes: cfg.MaxBodyBytes, IdempotencyTTL: cfg.IdempotencyTTL,
		MetricsToken: cfg.MetricsToken, ClientIP: clientIP, BaseURL: cfg.BaseURL(),
		Systems: []httpapi.System{a.Tenants.API(), a.Contacts.API(), a.Jobs.API(), a.Schedules.API(), a.Webhooks.API(), a.Billing.API(), a.Email.API(), a.Notify.API(), a.Notify.DigestAPI(), a.Push.API(), a.Feed.API(),
			a.Notify.PrefsPageAPI()},
	}, db.Ping)
	if err != nil {
		db.Close()
		return nil, err
	}
	a.Admin, err = admin.New(a.Core, a.Metrics, log.With("service", "admin"), admin.Options{
		SecureCookies: cfg.SecureCookies(), BaseURL: cfg.BaseURL(), ClientIP: clientIP,
		Sections: []admin.SectionFunc{a.Tenants.AdminSection(), a.Contacts.AdminSection(), a.Jobs.AdminSection(), a.Schedules.AdminSection(),
			a.Webhooks.AdminSection(), a.Billing.AdminSection(), a.Email.AdminSection(), a.Notify.AdminSection(a.Push), a.Operators.AdminSection()},
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	a.API.Register(mux)
	a.Admin.Register(mux)
	a.Feed.Register(mux)
	mux.Handle("GET /{$}", http.RedirectHandler("/admin/", http.StatusFound))
	a.handler = httpapi.LimitHeaders(mux)
	a.services = []service{engine, a.Schedules, newJanitor(a.Core, log.With("service", "janitor"), map[string]maintainer{"jobs": a.Jobs, "webhook": a.Webhooks, "feed": a.Feed}), a.Feed}
	if cfg.PprofAddr != "" {
		a.services = append(a.services, &pprofServer{addr: cfg.PprofAddr, log: log.With("service", "pprof")})
	}
	// Credentials are created last, once nothing else in New can fail, so
	// that a failed New never creates credentials no one is shown.
	a.Bootstrap, err = a.Core.Bootstrap(ctx, core.BootstrapInput{
		RootKeyConfigured: cfg.RootKey != "", OwnerEmail: cfg.OwnerEmail, OwnerPassword: cfg.OwnerPassword})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	return a, nil
}

// Migrations is the schema of every system this binary runs, for Migrate.
func Migrations() []store.MigrationSet {
	return []store.MigrationSet{store.CoreMigrations(), jobs.Migrations(), schedules.Migrations(),
		webhook.Migrations(), billing.Migrations(), email.Migrations(), notify.Migrations()}
}

// OpenAPI is the document /openapi.json serves: the HTTP kit's own merged
// with every system's fragment (for tests that check traffic against it
// without a running joist).
func OpenAPI() ([]byte, error) {
	return httpapi.MergeOpenAPI([]httpapi.System{{Name: "tenants", OpenAPI: tenants.OpenAPI()}, {Name: "contacts", OpenAPI: contacts.OpenAPI()},
		{Name: "jobs", OpenAPI: jobs.OpenAPI()}, {Name: "schedules", OpenAPI: schedules.OpenAPI()},
		{Name: "webhook", OpenAPI: webhook.OpenAPI()}, {Name: "billing", OpenAPI: billing.OpenAPI()},
		{Name: "email", OpenAPI: email.OpenAPI()}, {Name: "notify", OpenAPI: notify.OpenAPI()},
		{Name: "push", OpenAPI: notify.PushOpenAPI()}, {Name: "notify-feed", OpenAPI: notify.OpenAPIFeed()},
		{Name: "notify-preferences", OpenAPI: notify.PrefsPageOpenAPI()},
		{Name: "notify_digests", OpenAPI: notify.DigestOpenAPI()}})
}

// Handler is the whole HTTP surface (for tests with httptest).
func (a *App) Handler() http.Handler { return a.handler }

// Start starts the services and the HTTP server on Config.Addr (or on ln
// when given). It returns once the listener is open.
func (a *App) Start(ctx context.Context, ln net.Listener) error {
	for i, s := range a.services {
		if err := s.Start(ctx); err != nil {
			for j := i - 1; j >= 0; j-- {
				a.services[j].Stop()
			}
			return err
		}
	}
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", a.Config.Addr); err != nil {
			a.stopServices()
			return fmt.Errorf("JOIST_ADDR: listen on %s: %w", a.Config.Addr, err)
		}
	}
	a.listener = ln
	a.server = &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    httpapi.ServerMaxHeaderBytes,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	// Open feed streams end when shutdown begins, so a graceful shutdown
	// never waits on them.
	a.server.RegisterOnShutdown(a.Feed.Stop)
	go func() {
		if err := a.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.Log.Error("http server stopped", "err", err)
		}
	}()
	return nil
}

// Addr is the listening address once started.
func (a *App) Addr() string {
	if a.listener == nil {
		return ""
	}
	return a.listener.Addr().String()
}

// Run starts the app and blocks until ctx ends, then shuts down gracefully.
func (a *App) Run(ctx context.Context) error {
	if err := a.Start(ctx, nil); err != nil {
		a.Stop()
		return err
	}
	<-ctx.Done()
	a.Log.Info("shutting down", "timeout", a.Config.ShutdownTimeout)
	a.Stop()
	return nil
}

func (a *App) stopServices() {
	for i := len(a.services) - 1; i >= 0; i-- {
		a.services[i].Stop()
	}
}

// Stop drains in-flight requests (up to ShutdownTimeout), stops the services
// and closes the store. It is safe to call more than once.
func (a *App) Stop() {
	a.stopOnce.Do(func() {
		if a.server != nil {
			ctx, cancel := context.WithTimeout(context.Background(), a.Config.ShutdownTimeout)
			if err := a.server.Shutdown(ctx); err != nil {
				a.Log.Warn("shutdown", "err", err)
			}
			cancel()
		}
		a.stopServices()
		if a.DB != nil {
			_ = a.DB.Close()
		}
	})
}

// emailProvider builds the configured email provider: the outbox, the
// SMTP relay reached through the guarded dialer of operator destinations,
// or Resend or Postmark through the guarded client.
func emailProvider(cfg config.Config, guard *egress.Guard) (email.Provider, error) {
	switch cfg.EmailProvider {
	case "resend":
		return email.NewResend(cfg.ResendAPIKey, cfg.ResendAPIBase, guard.Client(egress.Operator)), nil
	case "postmark":
		return email.NewPostmark(cfg.PostmarkServerToken, cfg.PostmarkAPIBase, guard.Client(egress.Operator)), nil
	case "smtp":
	default:
		return email.Outbox{}, nil
	}
	var ca []byte
	if cfg.SMTPCA != "" {
		var err error
		if ca, err = os.ReadFile(cfg.SMTPCA); err != nil {
			return nil, fmt.Errorf("JOIST_SMTP_CA: %w", err)
		}
	}
	return email.ParseSMTPURL(cfg.SMTPURL, ca, guard.DialContext(egress.Operator))
}
