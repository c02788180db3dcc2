package admin_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/admin/admintest"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/store/storetest"
)

func loginFailures(t *testing.T, env *apptest.Env) float64 {
	t.Helper()
	mfs, err := env.App.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "joist_admin_login_failures_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("metric joist_admin_login_failures_total not registered")
	return 0
}

func TestLoginFailsAndIsRateLimited(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		c := admintest.NewClient(t, env)
		sessions := env.Count(t, "sessions")
		for i := range 5 {
			r := c.TryLogin(env.OwnerEmail, "wrong password number "+string(rune('a'+i)))
			admintest.Want(t, "wrong password", r, http.StatusUnauthorized, "Email or password is wrong.")
		}
		if n := loginFailures(t, env); n != 5 {
			t.Fatalf("login failures metric = %v, want 5", n)
		}
		// The sixth attempt is refused before the password is checked, even
		// the right one.
		r := c.TryLogin(env.OwnerEmail, env.OwnerPassword)
		admintest.Want(t, "sixth attempt", r, http.StatusTooManyRequests, "Too many failed logins")
		if r.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
		if n := env.Count(t, "sessions"); n != sessions {
			t.Fatalf("sessions %d -> %d: a rate-limited login opened a session", sessions, n)
		}
		// Another email from the same address is blocked too (keyed by IP).
		admintest.MkOperator(t, env, "ann@example.com", auth.RoleAdmin)
		admintest.Want(t, "same IP, other email", admintest.NewClient(t, env).TryLogin("ann@example.com", admintest.Password), http.StatusTooManyRequests)
		if n := loginFailures(t, env); n != 7 {
			t.Fatalf("login failures metric = %v, want 7 (5 failed + 2 refused)", n)
		}
	})
}

func TestLoginForm(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		c := admintest.NewClient(t, env)
		// An unauthenticated page sends the browser to the login page, and
		// back after logging in.
		r := c.Get("/admin/tenants?cursor=x")
		if r.Status != http.StatusSeeOther || r.Location != "/admin/login?next="+url.QueryEscape("/admin/tenants?cursor=x") {
			t.Fatalf("unauthenticated GET: %d %q", r.Status, r.Location)
		}
		tok := c.CSRF("/admin/login")
		// The login form needs its double-submit token.
		r = c.Post("/admin/login", url.Values{"email": {env.OwnerEmail}, "password": {env.OwnerPassword}})
		admintest.Want(t, "login without token", r, http.StatusForbidden)
		r = c.Post("/admin/login", url.Values{"csrf": {tok + "x"}, "email": {env.OwnerEmail}, "password": {env.OwnerPassword}})
		admintest.Want(t, "login with wrong token", r, http.StatusForbidden)
		// next may only point inside the dashboard.
		for next, to := range map[string]string{
			"/admin/tenants":        "/admin/tenants",
			"//evil.example/admin/": "/admin/",
			"https://evil.example/": "/admin/",
			"/\\evil.example":       "/admin/",
			"/v1/tenants":           "/admin/",
		} {
			c := admintest.NewClient(t, env)
			r := c.Post("/admin/login", url.Values{"csrf": {c.CSRF("/admin/login")}, "email": {env.OwnerEmail},
				"password": {env.OwnerPassword}, "next": {next}})
			if r.Status != http.StatusSeeOther || r.Location != to {
				t.Fatalf("next=%q: %d %q, want redirect to %q", next, r.Status, r.Location, to)
			}
		}
		r = c.Post("/admin/login", url.Values{"csrf": {tok}, "email": {" " + strings.ToUpper(env.OwnerEmail)}, "password": {env.OwnerPassword}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("login: %d\n%s", r.Status, r.Body)
		}
		var session *http.Cookie
		for _, ck := range (&http.Response{Header: r.Header}).Cookies() {
			if ck.Name == "joist_session" {
				session = ck
			}
		}
		if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/admin" || session.Secure {
			t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/admin, not Secure over http", session)
		}
		admintest.Want(t, "home", c.Get("/admin/tenants"), http.StatusOK, env.OwnerEmail, ">owner<")
	})
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, "sqlite")
	c := admintest.NewClient(t, env)
	c.LoginOwner()
	for _, path := range []string{"/admin/login", "/admin/tenants", "/admin/nope"} {
		r := c.Get(path)
		for h, v := range map[string]string{
			"Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "same-origin",
			"Cache-Control":           "no-store",
		} {
			if got := r.Header.Get(h); got != v {
				t.Errorf("GET %s: %s = %q, want %q", path, h, got, v)
			}
		}
	}
	admintest.Want(t, "unknown page", c.Get("/admin/nope"), http.StatusNotFound, "Not found")
	r := c.Get("/admin/static/admin.css")
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("static css: %d %q", r.Status, r.Header.Get("Content-Type"))
	}
	if r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatal("static asset without nosniff")
	}
	for _, page := range []string{"/admin/tenants", "/admin/login"} {
		body := admintest.NewClient(t, env).Get(page).Body
		if strings.Contains(body, "<script>") || strings.Contains(body, " style=") || strings.Contains(body, "<style") {
			t.Fatalf("%s has inline script or style, which the CSP blocks", page)
		}
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		admintest.MkTenant(t, env, "acme")
		c := admintest.NewClient(t, env)
		c.LoginOwner()
		tok := c.CSRF("/admin/tenants/acme")
		wrong := tok[:len(tok)-1] + "A"
		if wrong == tok {
			wrong = tok[:len(tok)-1] + "B"
		}
		keys := env.Count(t, "api_keys")
		for what, r := range map[string]admintest.Response{
			"no token":      c.Post("/admin/tenants/acme/keys", url.Values{"name": {"k"}}),
			"wrong token":   c.Post("/admin/tenants/acme/keys", url.Values{"name": {"k"}, "csrf": {wrong}}),
			"foreign site":  c.Post("/admin/tenants/acme/keys", url.Values{"name": {"k"}, "csrf": {tok}}, "Origin", "https://evil.example"),
			"cross-site":    c.Post("/admin/tenants/acme/keys", url.Values{"name": {"k"}, "csrf": {tok}}, "Sec-Fetch-Site", "cross-site"),
			"null origin":   c.Post("/admin/tenants/acme/keys", url.Values{"name": {"k"}, "csrf": {tok}}, "Origin", "null"),
			"logout no tok": c.Post("/admin/logout", nil),
		} {
			admintest.Want(t, what, r, http.StatusForbidden)
		}
		if n := env.Count(t, "api_keys"); n != keys {
			t.Fatalf("api_keys %d -> %d after refused posts", keys, n)
		}
		// The real form, sent from this site, works.
		r := c.Post("/admin/tenants/acme/keys", url.Values{"name": {"k"}, "csrf": {tok}}, "Origin", env.URL)
		admintest.Want(t, "create key", r, http.StatusOK, "jk_")
		if n := env.Count(t, "api_keys"); n != keys+1 {
			t.Fatalf("api_keys %d -> %d after one create", keys, n)
		}
	})
}

func TestViewerCannotWrite(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		tn := admintest.MkTenant(t, env, "acme")
		owner := admintest.NewClient(t, env)
		owner.LoginOwner()
		r := owner.Post("/admin/tenants/acme/keys", url.Values{"name": {"kept"}, "csrf": {owner.CSRF("/admin/tenants/acme")}})
		admintest.Want(t, "owner creates key", r, http.StatusOK)
		keyID := admintest.RegexpFind(t, `<code>(key_[0-9A-Za-z]+)</code>`, r.Body)

		admintest.MkOperator(t, env, "vera@example.com", auth.RoleViewer)
		v := admintest.NewClient(t, env)
		v.Login("vera@example.com", admintest.Password)
		page := v.Get("/admin/tenants/acme")
		admintest.Want(t, "viewer sees tenant", page, http.StatusOK, "kept")
		for _, hidden := range []string{`id="key-create"`, ">Revoke<", `id="tenant-create"`} {
			if strings.Contains(page.Body+v.Get("/admin/tenants").Body, hidden) {
				t.Fatalf("viewer is shown %s", hidden)
			}
		}
		tok := v.CSRF("/admin/tenants/acme")
		keys, tenants := env.Count(t, "api_keys"), env.Count(t, "tenants")
		admintest.Want(t, "viewer creates key", v.Post("/admin/tenants/acme/keys", url.Values{"name": {"x"}, "csrf": {tok}}), http.StatusForbidden, "keys.manage")
		admintest.Want(t, "viewer revokes key", v.Post("/admin/tenants/acme/keys/"+keyID+"/revoke", url.Values{"csrf": {tok}}), http.StatusForbidden)
		admintest.Want(t, "viewer creates tenant", v.Post("/admin/tenants", url.Values{"slug": {"x"}, "csrf": {tok}}), http.StatusForbidden)
		admintest.Want(t, "viewer invites", v.Post("/admin/operators", url.Values{"email": {"x@example.com"}, "role": {"owner"}, "scope": {"all"}, "csrf": {tok}}), http.StatusForbidden)
		if k, t2 := env.Count(t, "api_keys"), env.Count(t, "tenants"); k != keys || t2 != tenants {
			t.Fatalf("viewer posts stored something: api_keys %d -> %d, tenants %d -> %d", keys, k, tenants, t2)
		}
		ks, _, err := env.App.Tenants.KeyList(t.Context(), admintest.CLI(), tn.ID, storePage())
		if err != nil || len(ks) != 1 || ks[0].RevokedAt != nil {
			t.Fatalf("key after viewer's revoke: %+v %v", ks, err)
		}
	})
}

func TestTenantScope(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		a, b := admintest.MkTenant(t, env, "alpha"), admintest.MkTenant(t, env, "bravo")
		admintest.MkContact(t, env, a.ID, "u-a", "ann@alpha.example", "Ann Alpha")
		admintest.MkContact(t, env, b.ID, "u-b", "bob@bravo.example", "Bob Bravo")
		admintest.MkOperator(t, env, "sue@example.com", auth.RoleSupport, a.ID)
		c := admintest.NewClient(t, env)
		c.Login("sue@example.com", admintest.Password)
		admintest.Want(t, "own contact", c.Get("/admin/tenants/alpha/contacts/u-a"), http.StatusOK, "Ann Alpha", "contact.created")
		for _, path := range []string{
			"/admin/tenants/bravo", "/admin/tenants/" + b.ID,
			"/admin/tenants/bravo/contacts/u-b", "/admin/tenants/" + b.ID + "/contacts/u-b",
			"/admin/tenants/bravo/contacts?q=bob",
			"/admin/tenants/alpha/contacts/u-b", // right tenant in the URL, other tenant's contact
		} {
			r := c.Get(path)
			admintest.Want(t, "GET "+path, r, http.StatusNotFound)
			if strings.Contains(r.Body, "Bob") || strings.Contains(r.Body, "bravo.example") {
				t.Fatalf("GET %s leaks the other tenant:\n%s", path, r.Body)
			}
		}
		list := c.Get("/admin/tenants")
		admintest.Want(t, "tenant list", list, http.StatusOK, "/admin/tenants/alpha")
		if strings.Contains(list.Body, "bravo") {
			t.Fatal("tenant list shows a tenant out of scope")
		}
		search := c.Get("/admin/tenants/alpha/contacts?q=b")
		if strings.Contains(search.Body, "Bob") {
			t.Fatal("search in alpha finds bravo's contact")
		}
		audit := c.Get("/admin/audit?tenant=bravo")
		admintest.Want(t, "audit of other tenant", audit, http.StatusOK, "No entry matches.")
		if strings.Contains(c.Get("/admin/audit").Body, b.ID) {
			t.Fatal("audit log shows the other tenant's entries")
		}
	})
}

func TestLogoutRevokesSession(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		c := admintest.NewClient(t, env)
		c.LoginOwner()
		u, _ := url.Parse(env.URL + "/admin/")
		var session *http.Cookie
		for _, ck := range c.Jar().Cookies(u) {
			if ck.Name == "joist_session" {
				session = ck
			}
		}
		if session == nil {
			t.Fatal("no session cookie after login")
		}
		r := c.Post("/admin/logout", url.Values{"csrf": {c.CSRF("/admin/tenants")}})
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/admin/login") {
			t.Fatalf("logout: %d %q", r.Status, r.Location)
		}
		// The old cookie, sent again, no longer opens anything.
		c.Jar().SetCookies(u, []*http.Cookie{{Name: "joist_session", Value: session.Value, Path: "/admin"}})
		r = c.Get("/admin/tenants")
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/admin/login") {
			t.Fatalf("old session after logout: %d %q", r.Status, r.Location)
		}
	})
}

func storePage() store.Page { return store.Page{Limit: 100} }

// TestHostileTextInForms: a NUL byte or invalid UTF-8 in a login form, a
// form of a signed-in operator, a path or a query string gets a 400 page
// naming the field, on both stores; nothing is stored and nothing is
// logged at ERROR (the login form needs no session).
func TestHostileTextInForms(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		admintest.MkTenant(t, env, "acme")
		before := env.Snapshot(t)
		anon := admintest.NewClient(t, env)
		admintest.Want(t, "NUL in login email", anon.TryLogin("owner@example.com\x00", "whatever password"), http.StatusBadRequest, "form.email")
		admintest.Want(t, "invalid UTF-8 in login email", anon.TryLogin("caf\xe9@example.com", "whatever password"), http.StatusBadRequest, "form.email")
		c := admintest.NewClient(t, env)
		c.LoginOwner()
		tok := c.CSRF("/admin/tenants")
		admintest.Want(t, "NUL in a tenant slug", c.Post("/admin/tenants", url.Values{"csrf": {tok}, "slug": {"a\x00b"}}), http.StatusBadRequest, "form.slug")
		admintest.Want(t, "NUL in a key name", c.Post("/admin/tenants/acme/keys", url.Values{"csrf": {tok}, "name": {"k\x00"}}), http.StatusBadRequest, "form.name")
		admintest.Want(t, "invalid UTF-8 in a path", c.Get("/admin/tenants/%ff"), http.StatusBadRequest, "path")
		admintest.Want(t, "NUL in a search", c.Get("/admin/tenants/acme/contacts?q=%00"), http.StatusBadRequest, "query.q")
		admintest.Want(t, "NUL in an audit filter", c.Get("/admin/audit?actor=%00"), http.StatusBadRequest, "query.actor")
		// A user agent that is not UTF-8, or long and cut inside a
		// character, is the client's text: the login works and it is
		// stored safely.
		for _, ua := range []string{"Mozilla \xff\xfe", strings.Repeat("é", 200)} {
			ac := admintest.NewClient(t, env)
			r := ac.Post("/admin/login", url.Values{"csrf": {ac.CSRF("/admin/login")}, "email": {env.OwnerEmail}, "password": {env.OwnerPassword}},
				"User-Agent", ua)
			if r.Status != http.StatusSeeOther {
				t.Fatalf("login with user agent %q: %d\n%s", ua, r.Status, r.Body)
			}
		}
		after := env.Snapshot(t)
		delete(before, "sessions") // the owner's login
		delete(after, "sessions")
		delete(before, "audit_log")
		delete(after, "audit_log")
		storetest.Unchanged(t, before, after)
		if lines := env.ErrorLines(); len(lines) > 0 {
			t.Fatalf("hostile form input logged ERROR lines:\n%s", strings.Join(lines, "\n"))
		}
	})
}
