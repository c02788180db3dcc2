package admin_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/joist-dev/joist/internal/admin"
	"github.com/joist-dev/joist/internal/admin/admintest"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/store"
)

// TestAddSection adds a page the way a later system (jobs) would, to a
// second dashboard sharing the test joist's database.
func TestAddSection(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, "sqlite")
	adm, err := admin.New(env.App.Core, env.App.Metrics, slog.New(slog.DiscardHandler),
		admin.Options{Sections: []admin.SectionFunc{env.App.Tenants.AdminSection(), env.App.Operators.AdminSection()}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	adm.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	var retried atomic.Int32
	noop := func(http.ResponseWriter, *http.Request, *admin.Op) error { return nil }
	tmpl := fstest.MapFS{"jobs/list.html": {Data: []byte(
		`{{define "title"}}Jobs{{end}}{{define "content"}}<p id="jobs">{{.Data}} for {{.Op.Operator.Email}}</p>` +
			`<form method="post" action="/admin/jobs/retry">{{template "csrf" .CSRF}}</form>{{end}}`)}}
	err = adm.AddSection(admin.Section{
		Nav:       &admin.NavItem{Label: "Jobs", Path: "/admin/jobs", Order: 20},
		Templates: tmpl,
		Routes: map[string]admin.HandlerFunc{
			"GET /admin/jobs": func(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
				return adm.Render(w, r, op, http.StatusOK, "jobs/list.html", "3 jobs")
			},
			"POST /admin/jobs/retry": func(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
				if !op.Can(auth.PermKeysManage) {
					return adm.RenderForm(w, r, op, "jobs/list.html", "no", nil)
				}
				retried.Add(1)
				http.Redirect(w, r, "/admin/jobs", http.StatusSeeOther)
				return nil
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := adm.AddSection(admin.Section{Nav: &admin.NavItem{Label: "Keys only", Path: "/admin/keys-only", Perm: auth.PermKeysManage, Order: 30}}); err != nil {
		t.Fatal(err)
	}
	for what, s := range map[string]admin.Section{
		"route outside /admin":    {Routes: map[string]admin.HandlerFunc{"GET /v1/jobs": noop}},
		"route without method":    {Routes: map[string]admin.HandlerFunc{"/admin/x": noop}},
		"route taken":             {Routes: map[string]admin.HandlerFunc{"GET /admin/jobs": noop}},
		"route without handler":   {Routes: map[string]admin.HandlerFunc{"GET /admin/nil": nil}},
		"template name taken":     {Templates: tmpl},
		"template lacks content":  {Templates: fstest.MapFS{"x/deep/y.html": {Data: []byte(`{{define "title"}}x{{end}}`)}}},
		"template does not parse": {Templates: fstest.MapFS{"x/z.html": {Data: []byte(`{{define "title"}}`)}}},
		"flash code taken":        {Flashes: map[string]string{"logged_out": "again"}},
		"panel on an unknown page": {Templates: fstest.MapFS{"p.html": {Data: []byte(`x`)}}, Panels: []admin.Panel{{Page: "operators", Template: "p.html",
			Data: func(*http.Request, *admin.Op, store.Tenant, *store.Contact) (any, error) { return 1, nil }}}},
		"panel without data": {Templates: fstest.MapFS{"p.html": {Data: []byte(`x`)}}, Panels: []admin.Panel{{Page: admin.PanelTenant, Template: "p.html"}}},
	} {
		if err := adm.AddSection(s); err == nil {
			t.Errorf("AddSection with %s: no error", what)
		}
	}

	c := admintest.NewClientAt(t, env, srv.URL)
	r := c.Get("/admin/jobs")
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/admin/login?next=") {
		t.Fatalf("section page without session: %d %q", r.Status, r.Location)
	}
	c.LoginOwner()
	r = c.Get("/admin/jobs")
	admintest.Want(t, "section page", r, http.StatusOK, "3 jobs for "+env.OwnerEmail, `href="/admin/keys-only"`)
	if i, j, k := strings.Index(r.Body, ">Tenants<"), strings.Index(r.Body, ">Jobs<"), strings.Index(r.Body, ">Operators<"); i < 0 || !(i < j && j < k) {
		t.Fatalf("nav order: Tenants %d, Jobs %d, Operators %d", i, j, k)
	}
	if !strings.Contains(r.Body, `href="/admin/jobs" class="active"`) {
		t.Fatal("the section's nav item is not marked active on its page")
	}
	admintest.Want(t, "section post without token", c.Post("/admin/jobs/retry", nil), http.StatusForbidden)
	if retried.Load() != 0 {
		t.Fatal("a post without CSRF token reached the handler")
	}
	r = c.Post("/admin/jobs/retry", url.Values{"csrf": {c.CSRF("/admin/jobs")}})
	if r.Status != http.StatusSeeOther || retried.Load() != 1 {
		t.Fatalf("section post: %d, handler ran %d times", r.Status, retried.Load())
	}

	admintest.MkOperator(t, env, "vic@example.com", auth.RoleViewer)
	v := admintest.NewClientAt(t, env, srv.URL)
	v.Login("vic@example.com", admintest.Password)
	if strings.Contains(v.Get("/admin/jobs").Body, "/admin/keys-only") {
		t.Fatal("a nav item needing keys.manage is shown to a viewer")
	}
}

func TestSecureCookies(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, "sqlite")
	adm, err := admin.New(env.App.Core, env.App.Metrics, slog.New(slog.DiscardHandler), admin.Options{SecureCookies: true})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	adm.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c := admintest.NewClientAt(t, env, srv.URL)
	page := c.Get("/admin/login")
	tok := admintest.RegexpFind(t, `name="csrf" value="([^"]+)"`, page.Body)
	var loginCookie string
	for _, sc := range page.Header.Values("Set-Cookie") {
		if strings.HasPrefix(sc, "joist_login_csrf=") {
			loginCookie = sc
		}
	}
	if !strings.Contains(loginCookie, "Secure") || !strings.Contains(loginCookie, "HttpOnly") {
		t.Fatalf("login cookie %q: want Secure and HttpOnly", loginCookie)
	}
	// The jar keeps Secure cookies away from http URLs, so send it by hand.
	r := c.Post("/admin/login", url.Values{"csrf": {tok}, "email": {env.OwnerEmail}, "password": {env.OwnerPassword}},
		"Cookie", "joist_login_csrf="+tok)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("login: %d\n%s", r.Status, r.Body)
	}
	var session string
	for _, sc := range r.Header.Values("Set-Cookie") {
		if strings.HasPrefix(sc, "joist_session=") {
			session = sc
		}
	}
	for _, attr := range []string{"Secure", "HttpOnly", "SameSite=Lax", "Path=/admin"} {
		if !strings.Contains(session, attr) {
			t.Fatalf("session cookie %q lacks %s", session, attr)
		}
	}
}

// TestSectionPanelsLinksFlashes: a section given to New adds a partial
// every page may use, a link on the tenant page, a card on the contact
// page (hidden where its Data says nil) and a flash message of its own.
func TestSectionPanelsLinksFlashes(t *testing.T) {
	env := apptest.Start(t, "sqlite")
	tn := admintest.MkTenant(t, env, "acme")
	admintest.MkContact(t, env, tn.ID, "u1", "ann@example.com", "Ann")
	admintest.MkContact(t, env, tn.ID, "u2", "bob@example.com", "Bob")
	section := func(a *admin.Admin) admin.Section {
		return admin.Section{Name: "gears",
			Partials: fstest.MapFS{"gear.html": {Data: []byte(`{{define "gear"}}<b class="gear">{{.}}</b>{{end}}`)}},
			Templates: fstest.MapFS{
				"gears.html":      {Data: []byte(`{{define "title"}}Gears{{end}}{{define "content"}}{{template "gear" "page"}}{{end}}`)},
				"gear_panel.html": {Data: []byte(`<section id="gear-panel">{{template "gear" .}}</section>`)},
			},
			Flashes:     map[string]string{"gear_turned": "The gear turned."},
			TenantLinks: []admin.TenantLink{{Label: "Gears", Path: "/gears", ID: "tenant-gears"}},
			Panels: []admin.Panel{{Page: admin.PanelContact, Template: "gear_panel.html",
				Data: func(r *http.Request, op *admin.Op, t store.Tenant, c *store.Contact) (any, error) {
					if c.ExternalID != "u1" {
						return nil, nil
					}
					return "gear of " + c.Name + " in " + t.Slug, nil
				}}},
			Routes: map[string]admin.HandlerFunc{
				"GET /admin/tenants/{tenant}/gears": func(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
					return a.Render(w, r, op, http.StatusOK, "gears.html", nil)
				},
			}}
	}
	adm, err := admin.New(env.App.Core, env.App.Metrics, slog.New(slog.DiscardHandler), admin.Options{
		Sections: []admin.SectionFunc{env.App.Tenants.AdminSection(), env.App.Contacts.AdminSection(), section}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	adm.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c := admintest.NewClientAt(t, env, srv.URL)
	c.LoginOwner()
	admintest.Want(t, "tenant page link", c.Get("/admin/tenants/acme"), http.StatusOK, `href="/admin/tenants/acme/gears" id="tenant-gears">Gears</a>`)
	admintest.Want(t, "section page with partial and flash", c.Get("/admin/tenants/acme/gears?flash=gear_turned"), http.StatusOK,
		`<b class="gear">page</b>`, "The gear turned.")
	admintest.Want(t, "panel", c.Get("/admin/tenants/acme/contacts/u1"), http.StatusOK, `<section id="gear-panel"><b class="gear">gear of Ann in acme</b></section>`)
	if r := c.Get("/admin/tenants/acme/contacts/u2"); r.Status != http.StatusOK || strings.Contains(r.Body, "gear-panel") {
		t.Fatalf("a panel whose Data is nil is shown: %d", r.Status)
	}
	if r := c.Get("/admin/tenants/_"); strings.Contains(r.Body, "tenant-gears") {
		t.Fatal("a link not marked Instance is shown on the instance's page")
	}
}
