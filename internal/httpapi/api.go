// Package httpapi is joist's HTTP API under /v1 and its public operational
// endpoints: routing, authentication, tenant resolution, problem+json errors,
// idempotency keys, correlation ids, body limits, metrics and /openapi.json.
// Handlers return errors; domain errors become problems only here.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/billing"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/metrics"
	"github.com/joist-dev/joist/internal/schedules"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/webhook"
)

// Options configure the API.
type Options struct {
	RootKey        string // JOIST_ROOT_KEY, or empty
	MaxBodyBytes   int64
	IdempotencyTTL time.Duration
	MetricsToken   string
	// BaseURL is the public URL providers call (JOIST_PUBLIC_URL).
	BaseURL  string
	ClientIP func(*http.Request) string
}

// API serves /v1 and the operational endpoints.
type API struct {
	core    *core.Service
	jobs    *jobs.Service
	db      *store.DB
	log     *slog.Logger
	metrics *metrics.Metrics
	opts    Options
	rootKey string // hash
	routes  []Route
	ready   func(context.Context) error

	schedules *schedules.Service // durable cron (handlers_schedules.go)
	webhooks  *webhook.Service   // inbound webhooks (handlers_webhooks.go)
	billing   *billing.Service   // Stripe billing state (handlers_billing.go)
}

// Route describes one registered route, for the isolation test and the
// OpenAPI coverage test.
type Route struct {
	Method  string
	Pattern string // Go 1.22 ServeMux path pattern
	// Tenant says how the route finds its tenant: "" (none), "header"
	// (Joist-Tenant or the key's own tenant) or "path" ({tenant}).
	Tenant string
	// Public routes need no key.
	Public bool
	// Instance: with the root key and no Joist-Tenant, the route acts on the
	// instance's own tenant (instance-level webhook sources) instead of
	// answering tenant_required.
	Instance bool
	// Idempotent marks POSTs that create something and honour Idempotency-Key.
	Idempotent bool
	handler    handlerFunc
	// redact, when set, strips secrets from a response before it is kept
	// for idempotent replay.
	redact func([]byte) []byte
}

// request carries what middleware resolved for a handler.
type request struct {
	*http.Request
	actor  auth.Actor
	tenant store.Tenant
	corrID string
}

type handlerFunc func(w http.ResponseWriter, r *request) error

// New builds the API. ready reports whether the node can serve (/readyz).
func New(svc *core.Service, js *jobs.Service, sch *schedules.Service, wh *webhook.Service, m *metrics.Metrics, log *slog.Logger, opts Options, ready func(context.Context) error) *API {
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.IdempotencyTTL == 0 {
		opts.IdempotencyTTL = 7 * 24 * time.Hour
	}
	if opts.ClientIP == nil {
		opts.ClientIP = func(r *http.Request) string { return r.RemoteAddr }
	}
	a := &API{core: svc, jobs: js, schedules: sch, webhooks: wh, db: svc.DB(), log: log, metrics: m, opts: opts, ready: ready}
	if opts.RootKey != "" {
		a.rootKey = auth.HashToken(opts.RootKey)
	}
	a.routes = []Route{
		{Method: "GET", Pattern: "/healthz", Public: true, handler: a.healthz},
		{Method: "GET", Pattern: "/readyz", Public: true, handler: a.readyz},
		{Method: "GET", Pattern: "/openapi.json", Public: true, handler: a.openapi},

		{Method: "POST", Pattern: "/v1/tenants", Idempotent: true, handler: a.tenantCreate},
		{Method: "GET", Pattern: "/v1/tenants", handler: a.tenantList},
		{Method: "GET", Pattern: "/v1/tenants/{tenant}", Tenant: "path", handler: a.tenantGet},
		{Method: "POST", Pattern: "/v1/tenants/{tenant}/keys", Tenant: "path", Idempotent: true, handler: a.keyCreate, redact: redactSecret},
		{Method: "GET", Pattern: "/v1/tenants/{tenant}/keys", Tenant: "path", handler: a.keyList},
		{Method: "DELETE", Pattern: "/v1/tenants/{tenant}/keys/{key}", Tenant: "path", handler: a.keyRevoke},

		{Method: "GET", Pattern: "/v1/contacts", Tenant: "header", handler: a.contactList},
		{Method: "PUT", Pattern: "/v1/contacts/{contact}", Tenant: "header", handler: a.contactPut},
		{Method: "GET", Pattern: "/v1/contacts/{contact}", Tenant: "header", handler: a.contactGet},
		{Method: "GET", Pattern: "/v1/contacts/{contact}/timeline", Tenant: "header", handler: a.timelineList},

		{Method: "GET", Pattern: "/v1/audit", handler: a.auditList},

		{Method: "POST", Pattern: "/v1/jobs", Tenant: "header", Idempotent: true, handler: a.jobCreate},
		{Method: "GET", Pattern: "/v1/jobs", Tenant: "header", Instance: true, handler: a.jobList},
		{Method: "GET", Pattern: "/v1/jobs/{job}", Tenant: "header", Instance: true, handler: a.jobGet},
		{Method: "POST", Pattern: "/v1/jobs/{job}/retry", Tenant: "header", Instance: true, handler: a.jobRetry},
		{Method: "POST", Pattern: "/v1/jobs/{job}/cancel", Tenant: "header", Instance: true, handler: a.jobCancel},
		{Method: "POST", Pattern: "/v1/jobs/bulk", Tenant: "header", Instance: true, handler: a.jobBulk},
		{Method: "GET", Pattern: "/v1/signing-secret", Tenant: "header", Instance: true, handler: a.secretGet},
		{Method: "POST", Pattern: "/v1/signing-secret/rotate", Tenant: "header", Instance: true, handler: a.secretRotate},
		{Method: "GET", Pattern: "/v1/schedules", Tenant: "header", handler: a.scheduleList},
		{Method: "PUT", Pattern: "/v1/schedules/{name}", Tenant: "header", handler: a.schedulePut},
		{Method: "GET", Pattern: "/v1/schedules/{name}", Tenant: "header", handler: a.scheduleGet},
		{Method: "DELETE", Pattern: "/v1/schedules/{name}", Tenant: "header", handler: a.scheduleDelete},
		{Method: "POST", Pattern: "/v1/schedules/{name}/pause", Tenant: "header", handler: a.schedulePause},
		{Method: "POST", Pattern: "/v1/schedules/{name}/resume", Tenant: "header", handler: a.scheduleResume},

		{Method: "PUT", Pattern: "/v1/webhook-sources/{name}", Tenant: "header", Instance: true, handler: a.sourcePut},
		{Method: "GET", Pattern: "/v1/webhook-sources", Tenant: "header", Instance: true, handler: a.sourceList},
		{Method: "GET", Pattern: "/v1/webhook-sources/{name}", Tenant: "header", Instance: true, handler: a.sourceGet},
		{Method: "DELETE", Pattern: "/v1/webhook-sources/{name}", Tenant: "header", Instance: true, handler: a.sourceDelete},
		{Method: "GET", Pattern: "/v1/webhook-sources/{name}/rejections", Tenant: "header", Instance: true, handler: a.sourceRejections},
		{Method: "GET", Pattern: "/v1/webhook-events", Tenant: "header", Instance: true, handler: a.eventList},
		{Method: "GET", Pattern: "/v1/webhook-events/{event}", Tenant: "header", Instance: true, handler: a.eventGet},
		{Method: "POST", Pattern: "/v1/webhook-events/{event}/replay", Tenant: "header", Instance: true, handler: a.eventReplay},
		{Method: "POST", Pattern: "/v1/webhook-events/replay", Tenant: "header", Instance: true, handler: a.eventReplayMany},
		{Method: "POST", Pattern: "/in/{tenant}/{source}", Public: true, handler: a.ingest},

		{Method: "GET", Pattern: "/v1/subscriptions", Tenant: "header", handler: a.subscriptionList},
		{Method: "GET", Pattern: "/v1/subscriptions/{subscription}", Tenant: "header", handler: a.subscriptionGet},
		{Method: "PUT", Pattern: "/v1/billing/customers/{customer}", Tenant: "header", Instance: true, handler: a.billingCustomerPut},
		{Method: "GET", Pattern: "/v1/billing/customers/{customer}", Tenant: "header", Instance: true, handler: a.billingCustomerGet},
	}
	return a
}

// Routes lists every route the API registers.
func (a *API) Routes() []Route { return append([]Route(nil), a.routes...) }

// Register adds the API's routes and /metrics to mux.
func (a *API) Register(mux *http.ServeMux) {
	for _, rt := range a.routes {
		mux.Handle(rt.Method+" "+rt.Pattern, a.wrap(rt))
	}
	mux.Handle("GET /metrics", a.metrics.Handler(a.opts.MetricsToken))
	mux.Handle("/in/", a.wrap(Route{Pattern: "/in/", Public: true, handler: func(w http.ResponseWriter, r *request) error {
		w.Header().Set("Allow", "POST")
		return problem(http.StatusMethodNotAllowed, "method_not_allowed", "webhooks are delivered with POST to /in/{tenant}/{source}")
	}}))
	// Anything else under /v1 is a problem+json 404, not the mux's text one.
	mux.Handle("/v1/", a.wrap(Route{Pattern: "/v1/", Public: true, handler: func(w http.ResponseWriter, r *request) error {
		return problem(http.StatusNotFound, "route_not_found", r.Method+" "+r.URL.Path+" is not an API route; see /openapi.json")
	}}))
}

var correlationRE = regexp.MustCompile(`^[A-Za-z0-9._:\-]{1,128}$`)

type ctxKey int

const correlationKey ctxKey = 1

// CorrelationID returns the request's correlation id.
func CorrelationID(ctx context.Context) string {
	s, _ := ctx.Value(correlationKey).(string)
	return s
}

// Correlation accepts Joist-Correlation-Id (or generates one), returns it on
// the response and puts it in the context. The admin uses it too.
func Correlation(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("Joist-Correlation-Id")
		if !correlationRE.MatchString(id) {
			id = store.NewID(store.PrefixCorrelate)
		}
		w.Header().Set("Joist-Correlation-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), correlationKey, id)))
	})
}

// statusWriter records the status and error code written.
type statusWriter struct {
	http.ResponseWriter
	status int
	code   string
}

func (s *statusWriter) WriteHeader(c int) {
	if s.status == 0 {
		s.status = c
	}
	s.ResponseWriter.WriteHeader(c)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (a *API) wrap(rt Route) http.Handler {
	label := rt.Method + " " + rt.Pattern
	if rt.Method == "" {
		label = "unmatched"
	}
	return Correlation(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		corr := CorrelationID(r.Context())
		r.Body = http.MaxBytesReader(w, r.Body, a.opts.MaxBodyBytes)
		req := &request{Request: r, corrID: corr}
		err := a.serve(sw, req, rt)
		switch {
		case err != nil && sw.status != 0:
			// The response had started (a client gone mid-write): too late for a problem.
			a.log.Debug("response not completed", "route", label, "correlation_id", corr, "err", err)
		case err != nil:
			p := toProblem(err)
			if p.Status >= 500 {
				a.log.Error("request failed", "route", label, "correlation_id", corr, "err", err)
			}
			sw.code = p.Code
			writeProblem(sw, p, corr)
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		a.metrics.ObserveHTTP(label, r.Method, sw.status, sw.code, time.Since(start))
	}))
}

func (a *API) serve(w http.ResponseWriter, r *request, rt Route) error {
	if !rt.Public {
		bearer, ok := bearerToken(r.Request)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="joist"`)
			return problem(http.StatusUnauthorized, "invalid_authorization", "the Authorization header must be 'Bearer jk_...'")
		}
		actor, err := a.core.Authenticate(r.Context(), bearer, a.rootKey)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="joist"`)
			return err
		}
		actor.IP = a.opts.ClientIP(r.Request)
		actor.CorrelationID = r.corrID
		r.actor = actor
		if err := a.resolveTenant(r, rt); err != nil {
			return err
		}
	}
	if rt.Idempotent {
		return a.idempotent(w, r, rt)
	}
	return rt.handler(w, r)
}

func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", true
	}
	const p = "Bearer "
	if len(h) < len(p) || !equalFold(h[:len(p)], p) {
		return "", false
	}
	return h[len(p):], true
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i]|0x20, b[i]|0x20
		if x != y {
			return false
		}
	}
	return true
}

// resolveTenant finds the route's tenant. This is the one place a request's
// tenant is decided: handlers get it from r.tenant and nowhere else.
func (a *API) resolveTenant(r *request, rt Route) error {
	var ref string
	switch rt.Tenant {
	case "":
		return nil
	case "path":
		ref = r.PathValue("tenant")
	case "header":
		ref = r.Header.Get("Joist-Tenant")
		if ref == "" {
			switch {
			case r.actor.Type == auth.ActorKey:
				ref = r.actor.TenantIDs[0]
			case rt.Instance && r.actor.AllTenants:
				ref = store.InstanceTenantID
			default:
				return problem(http.StatusBadRequest, "tenant_required",
					"this route acts on one tenant: send 'Joist-Tenant: <slug or id>' with the root key")
			}
		}
	}
	t, err := a.core.TenantGet(r.Context(), r.actor, ref)
	// The instance's own tenant exists only for instance-level webhook routes.
	if err != nil || (t.ID == store.InstanceTenantID && !rt.Instance) {
		return problem(http.StatusNotFound, "tenant_not_found", "tenant "+quote(ref)+" not found")
	}
	r.tenant = t
	return nil
}

func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return "'" + s + "'"
}
