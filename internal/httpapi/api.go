// Package httpapi is joist's HTTP kit: the /v1 API's routing,
// authentication, tenant resolution, problem+json errors, idempotency keys,
// correlation ids, body limits, JSON in and out, and the OpenAPI document
// merged from the systems' fragments; plus the operational endpoints
// (/healthz, /readyz, /metrics, /openapi.json) and the foundation's routes
// (tenants, keys, contacts, timeline, audit).
//
// It imports no system. A system adds its routes and OpenAPI fragment as a
// System (Options.Systems); its handlers are HandlerFuncs that read the
// request's actor and tenant from *Request and return errors, which become
// problems here (domain errors by kind, see core.Error).
package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/metrics"
	"github.com/joist-dev/joist/internal/store"
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
	// Systems add their routes and OpenAPI fragments to the kit's own.
	Systems []System
}

// API serves /v1 and the operational endpoints.
type API struct {
	core       *core.Service
	db         *store.DB
	log        *slog.Logger
	metrics    *metrics.Metrics
	opts       Options
	rootKey    string // hash
	routes     []Route
	ready      func(context.Context) error
	openapiDoc []byte
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
	// IdempotentInTx (with Idempotent) has the handler keep the
	// Idempotency-Key record itself, in the transaction that stores what
	// the request creates, through Request.Idempotency: one commit instead
	// of three, and the record commits exactly when the request's effects
	// do (hot paths: POST /v1/emails).
	IdempotentInTx bool
	// Handler serves the route once the kit has authenticated the request
	// and resolved its tenant.
	Handler HandlerFunc
	// Redact, when set, strips secrets from a response before it is kept
	// for idempotent replay.
	Redact func([]byte) []byte
	// MaxBodyBytes, when set, is the route's own body limit instead of
	// Options.MaxBodyBytes (email sends carry attachments).
	MaxBodyBytes int64
}

// Request is what the kit resolved for a handler: the authenticated actor,
// the route's tenant (zero for routes without one) and the correlation id.
type Request struct {
	*http.Request
	Actor         auth.Actor
	Tenant        store.Tenant
	CorrelationID string
	// ClientIP is the client's address (through JOIST_TRUSTED_PROXIES).
	ClientIP string

	idem *TxIdempotency // IdempotentInTx routes sent with a key
}

// HandlerFunc serves a route. A returned error becomes a problem+json
// response: a *Problem as it is, a core.Error by its kind, anything else as
// 500 (logged with the correlation id).
type HandlerFunc func(w http.ResponseWriter, r *Request) error

// New builds the API: the kit's own routes (operations, tenants, keys,
// contacts, audit) and those of opts.Systems. ready reports whether the node
// can serve (/readyz). It fails when two routes share a pattern or the
// merged OpenAPI document does not hold together.
func New(svc *core.Service, m *metrics.Metrics, log *slog.Logger, opts Options, ready func(context.Context) error) (*API, error) {
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.IdempotencyTTL == 0 {
		opts.IdempotencyTTL = 7 * 24 * time.Hour
	}
	if opts.ClientIP == nil {
		opts.ClientIP = func(r *http.Request) string { return r.RemoteAddr }
	}
	a := &API{core: svc, db: svc.DB(), log: log, metrics: m, opts: opts, ready: ready}
	if opts.RootKey != "" {
		a.rootKey = auth.HashToken(opts.RootKey)
	}
	a.routes = []Route{
		{Method: "GET", Pattern: "/healthz", Public: true, Handler: a.healthz},
		{Method: "GET", Pattern: "/readyz", Public: true, Handler: a.readyz},
		{Method: "GET", Pattern: "/openapi.json", Public: true, Handler: a.openapi},

		{Method: "GET", Pattern: "/v1/audit", Handler: a.auditList},
	}
	seen := map[string]string{}
	for _, rt := range a.routes {
		seen[rt.Method+" "+rt.Pattern] = "the kit"
	}
	for _, s := range opts.Systems {
		for _, rt := range s.Routes {
			k := rt.Method + " " + rt.Pattern
			if other, dup := seen[k]; dup {
				return nil, fmt.Errorf("httpapi: %s and %s both serve %s", other, s.Name, k)
			}
			if rt.Handler == nil {
				return nil, fmt.Errorf("httpapi: %s serves %s without a handler", s.Name, k)
			}
			seen[k] = s.Name
			a.routes = append(a.routes, rt)
		}
	}
	doc, err := MergeOpenAPI(opts.Systems)
	if err != nil {
		return nil, err
	}
	a.openapiDoc = doc
	return a, nil
}

// Routes lists every route the API registers.
func (a *API) Routes() []Route { return append([]Route(nil), a.routes...) }

// Register adds the API's routes and /metrics to mux.
func (a *API) Register(mux *http.ServeMux) {
	for _, rt := range a.routes {
		mux.Handle(rt.Method+" "+rt.Pattern, a.wrap(rt))
	}
	mux.Handle("GET /metrics", a.metrics.Handler(a.opts.MetricsToken))
	for _, s := range a.opts.Systems {
		for _, rt := range s.Prefixes {
			rt.Method, rt.Public = "", true
			mux.Handle(rt.Pattern, a.wrap(rt))
		}
	}
	// Anything else under /v1 is a problem+json: 405 with Allow when the
	// path is a route's with another method, else 404 (not the mux's text).
	mux.Handle("/v1/", a.wrap(Route{Pattern: "/v1/", Public: true, Handler: func(w http.ResponseWriter, r *Request) error {
		if allow := allowed(mux, r.Request); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			return NewProblem(http.StatusMethodNotAllowed, "method_not_allowed",
				r.Method+" is not allowed on "+r.URL.Path+"; allowed: "+strings.Join(allow, ", "))
		}
		return NewProblem(http.StatusNotFound, "route_not_found", r.Method+" "+r.URL.Path+" is not an API route; see /openapi.json")
	}}))
}

// allowed lists the methods some route of mux serves at r's path.
func allowed(mux *http.ServeMux, r *http.Request) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/v1/" {
			out = append(out, m)
		}
	}
	return out
}

var correlationRE = regexp.MustCompile(`^[A-Za-z0-9._:\-]{1,128}$`)

type ctxKey int

const correlationKey ctxKey = 1

// CorrelationID returns the request's correlation id.
func CorrelationID(ctx context.Context) string {
	s, _ := ctx.Value(correlationKey).(string)
	return s
}

type routeKeyT struct{}

// routeKey holds the request's route ("GET /v1/contacts") in its context:
// the list a page cursor belongs to (ParsePage).
var routeKey routeKeyT

func routeOf(ctx context.Context) string {
	s, _ := ctx.Value(routeKey).(string)
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

// Unwrap lets http.ResponseController reach the connection's writer
// (flushes and write deadlines of streamed responses).
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

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
		limit := a.opts.MaxBodyBytes
		if rt.MaxBodyBytes > 0 {
			limit = rt.MaxBodyBytes
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		r = r.WithContext(context.WithValue(r.Context(), routeKey, label))
		req := &Request{Request: r, CorrelationID: corr, ClientIP: a.opts.ClientIP(r)}
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

func (a *API) serve(w http.ResponseWriter, r *Request, rt Route) error {
	if err := checkRequestText(r.Request, rt.Pattern); err != nil {
		return err
	}
	if !rt.Public {
		bearer, ok := bearerToken(r.Request)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="joist"`)
			return NewProblem(http.StatusUnauthorized, "invalid_authorization", "the Authorization header must be 'Bearer jk_...'")
		}
		actor, err := a.core.Authenticate(r.Context(), bearer, a.rootKey)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="joist"`)
			return err
		}
		actor.IP = r.ClientIP
		actor.CorrelationID = r.CorrelationID
		r.Actor = actor
		if err := a.resolveTenant(r, rt); err != nil {
			return err
		}
	}
	if rt.Idempotent {
		return a.idempotent(w, r, rt)
	}
	return rt.Handler(w, r)
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
// tenant is decided: handlers get it from r.Tenant and nowhere else.
func (a *API) resolveTenant(r *Request, rt Route) error {
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
			case r.Actor.Type == auth.ActorKey:
				ref = r.Actor.TenantIDs[0]
			case rt.Instance && r.Actor.AllTenants:
				ref = store.InstanceTenantID
			default:
				return NewProblem(http.StatusBadRequest, "tenant_required",
					"this route acts on one tenant: send 'Joist-Tenant: <slug or id>' with the root key")
			}
		}
	}
	t, err := a.core.TenantGet(r.Context(), r.Actor, ref)
	// The instance's own tenant exists only for instance-level webhook routes.
	if err != nil || (t.ID == store.InstanceTenantID && !rt.Instance) {
		return NewProblem(http.StatusNotFound, "tenant_not_found", "tenant "+quote(ref)+" not found")
	}
	r.Tenant = t
	return nil
}

// quote quotes s for a message, cut at 80 bytes.
func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return "'" + s + "'"
}
