package admin

import (
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/httpapi"
	"github.com/joist-dev/joist/internal/metrics"
	"github.com/joist-dev/joist/internal/store"
)

//go:embed web
var webFS embed.FS

// Options configure the dashboard.
type Options struct {
	// SecureCookies marks the cookies Secure (the public URL is https).
	SecureCookies bool
	// BaseURL is the public URL, used for invite links and as a trusted
	// origin for form posts.
	BaseURL string
	// ClientIP decides a request's client IP for audit entries and login
	// rate limits (nil: the peer address).
	ClientIP func(*http.Request) string
	// Now is the clock of the login rate limiter (nil: time.Now).
	Now func() time.Time
	// LoginFailures is how many failed logins one client IP, or one email,
	// may have within LoginWindow before further attempts get 429
	// (0: 5 within 15 minutes).
	LoginFailures int
	LoginWindow   time.Duration
	// Sections are the systems' parts of the dashboard, added in order
	// (their partials first, so every page may use any of them).
	Sections []SectionFunc
}

// Admin serves the dashboard.
type Admin struct {
	core    *core.Service
	metrics *metrics.Metrics
	log     *slog.Logger
	opts    Options
	limiter *limiter
	layout  *template.Template
	mux     *http.ServeMux
	handler http.Handler

	mu          sync.RWMutex
	pages       map[string]*template.Template
	nav         []NavItem
	patterns    []string
	flashes     map[string]string
	panels      []panel
	tenantLinks []TenantLink
}

// SectionFunc builds a system's Section with the dashboard it is part of
// (for Render, Tenant and the other helpers its handlers use).
type SectionFunc func(*Admin) Section

// New builds the dashboard with its built-in pages and the sections of
// opts.Sections. It fails when a section's templates do not parse or its
// routes, template names or flash codes clash with another's.
func New(svc *core.Service, m *metrics.Metrics, log *slog.Logger, opts Options) (*Admin, error) {
	if opts.ClientIP == nil {
		opts.ClientIP = func(r *http.Request) string { return r.RemoteAddr }
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.LoginFailures <= 0 {
		opts.LoginFailures = 5
	}
	if opts.LoginWindow <= 0 {
		opts.LoginWindow = 15 * time.Minute
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	a := &Admin{core: svc, metrics: m, log: log, opts: opts,
		limiter: newLimiter(opts.Now, opts.LoginFailures, opts.LoginWindow),
		layout:  template.Must(template.New("layout.html").Funcs(funcs).ParseFS(webFS, "web/layout.html")),
		mux:     http.NewServeMux(), pages: map[string]*template.Template{}, flashes: maps.Clone(shellFlashes)}
	sections := make([]Section, len(opts.Sections))
	for i, f := range opts.Sections {
		sections[i] = f(a)
		if err := a.addPartials(sections[i]); err != nil {
			return nil, err
		}
	}
	handler, err := a.routes()
	if err != nil {
		return nil, err
	}
	a.handler = handler
	for _, s := range sections {
		if err := a.AddSection(s); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Core is the core service the dashboard acts through (tenant reach and
// permission checks, audit).
func (a *Admin) Core() *core.Service { return a.core }

// BaseURL is the dashboard's public URL (for links sent outside it, such
// as invites), without a trailing slash; empty when not configured.
func (a *Admin) BaseURL() string { return a.opts.BaseURL }

// Register adds the dashboard's routes under /admin to mux.
func (a *Admin) Register(mux *http.ServeMux) {
	mux.Handle("/admin/", a.handler)
	mux.Handle("/admin", http.RedirectHandler("/admin/", http.StatusFound))
}

// ServeHTTP serves the dashboard (paths under /admin/).
func (a *Admin) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

// routes registers the built-in pages and wraps the dashboard in its
// security middleware.
func (a *Admin) routes() (http.Handler, error) {
	static, err := fs.Sub(webFS, "web/static")
	if err != nil {
		return nil, err
	}
	public := map[string]http.Handler{
		"GET /admin/static/":         http.StripPrefix("/admin/static/", staticHandler(static)),
		"GET /admin/login":           http.HandlerFunc(a.loginPage),
		"POST /admin/login":          http.HandlerFunc(a.loginSubmit),
		"GET /admin/invite/{token}":  http.HandlerFunc(a.invitePage),
		"POST /admin/invite/{token}": http.HandlerFunc(a.inviteSubmit),
		"/admin/": a.authed(func(w http.ResponseWriter, r *http.Request, op *Op) error {
			return &core.Error{Kind: core.ErrNotFound, Code: "not_found", Message: "there is no dashboard page at " + r.URL.Path}
		}),
	}
	for p, h := range public {
		a.mux.Handle(p, h)
		a.patterns = append(a.patterns, p)
	}
	pages, err := fs.Sub(webFS, "web/pages")
	if err != nil {
		return nil, err
	}
	err = a.AddSection(Section{Name: "shell", Templates: pages, Routes: map[string]HandlerFunc{
		"GET /admin/{$}":     func(w http.ResponseWriter, r *http.Request, op *Op) error { return Redirect(w, r, "/admin/tenants") },
		"POST /admin/logout": a.logout,

		"GET /admin/audit": a.auditPage,
	}})
	if err != nil {
		return nil, err
	}
	for _, n := range []NavItem{
		{Label: "Audit log", Path: "/admin/audit", Perm: auth.PermAuditRead, Order: 90},
	} {
		a.AddNav(n)
	}
	cop := http.NewCrossOriginProtection()
	if o := originOf(a.opts.BaseURL); o != "" {
		if err := cop.AddTrustedOrigin(o); err != nil {
			a.log.Warn("base URL is not a valid origin; form posts are checked against the Host header only", "base_url", a.opts.BaseURL, "err", err)
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.errorPage(w, r, nil, http.StatusForbidden, "Forbidden",
			"This form was sent from another site, so it was refused. Open the dashboard directly and try again.")
	}))
	return securityHeaders(httpapi.Correlation(cop.Handler(a.textGuard(a.mux)))), nil
}

// textGuard refuses a path or query string holding NUL or invalid UTF-8
// (the API's rule for text, httpapi.CheckValues) with a 400 page, before
// any handler looks it up; forms are checked where they are parsed.
func (a *Admin) textGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := httpapi.CheckValues("query.", r.URL.Query())
		if !store.ValidText(r.URL.Path) {
			err = core.InvalidText("path")
		}
		if err != nil {
			op, _ := a.signedIn(r)
			a.fail(w, r, op, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// originOf is the scheme://host[:port] of a URL, or "".
func originOf(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Scheme == "" || p.Host == "" {
		return ""
	}
	return p.Scheme + "://" + p.Host
}

// securityHeaders sets the headers every dashboard response carries. Pages
// are never cached; static assets are (see staticHandler).
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

func staticHandler(files fs.FS) http.Handler {
	fsrv := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") || r.URL.Path == "" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		fsrv.ServeHTTP(w, r)
	})
}
