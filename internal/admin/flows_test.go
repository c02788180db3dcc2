package admin_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/auth"
)

func TestInviteFlow(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		a := mkTenant(t, env, "alpha")
		mkTenant(t, env, "bravo")
		owner := newClient(t, env)
		owner.loginOwner()
		tok := owner.csrf("/admin/operators")
		r := owner.post("/admin/operators", url.Values{"csrf": {tok}, "email": {"Nina@Example.com"}, "name": {"Nina"},
			"role": {"support"}, "scope": {"some"}, "tenant": {a.ID}})
		want(t, "invite", r, http.StatusOK, "nina@example.com is invited", "/admin/invite/")
		token := regexpFind(t, `/admin/invite/([0-9A-Za-z]+)<`, r.Body)
		// Bad input re-renders the form and stores nothing.
		ops := env.Count(t, "operators")
		r = owner.post("/admin/operators", url.Values{"csrf": {tok}, "email": {"not an email"}, "role": {"support"}, "scope": {"all"}})
		want(t, "invite bad email", r, http.StatusBadRequest, "is not a plain address", `id="operator-invite"`)
		r = owner.post("/admin/operators", url.Values{"csrf": {tok}, "email": {"nina@example.com"}, "role": {"support"}, "scope": {"all"}})
		want(t, "invite twice", r, http.StatusConflict, "already exists")
		if n := env.Count(t, "operators"); n != ops {
			t.Fatalf("operators %d -> %d after refused invites", ops, n)
		}

		nina := newClient(t, env)
		want(t, "invite page", nina.get("/admin/invite/"+token), http.StatusOK, "Choose the password")
		itok := regexpFind(t, `name="csrf" value="([^"]+)"`, nina.get("/admin/invite/"+token).Body)
		r = nina.post("/admin/invite/"+token, url.Values{"csrf": {itok}, "password": {testPassword}, "confirm": {testPassword + "x"}})
		want(t, "passwords differ", r, http.StatusBadRequest, "differ")
		r = nina.post("/admin/invite/"+token, url.Values{"csrf": {itok}, "password": {"short"}, "confirm": {"short"}})
		want(t, "weak password", r, http.StatusBadRequest)
		r = nina.post("/admin/invite/"+token, url.Values{"password": {testPassword}, "confirm": {testPassword}})
		want(t, "accept without token", r, http.StatusForbidden)
		r = nina.post("/admin/invite/"+token, url.Values{"csrf": {itok}, "password": {testPassword}, "confirm": {testPassword}})
		if r.Status != http.StatusSeeOther || r.Location != "/admin/login?flash=password_set" {
			t.Fatalf("accept invite: %d %q\n%s", r.Status, r.Location, r.Body)
		}
		want(t, "used invite", nina.get("/admin/invite/"+token), http.StatusNotFound, "invalid, used or expired")
		want(t, "login page after invite", nina.get("/admin/login?flash=password_set"), http.StatusOK, "Your password is set")
		nina.login("nina@example.com", testPassword)
		home := nina.get("/admin/tenants")
		want(t, "nina's home", home, http.StatusOK, "nina@example.com", ">support<", "/admin/tenants/alpha")
		if strings.Contains(home.Body, "/admin/tenants/bravo") {
			t.Fatal("nina, scoped to alpha, sees bravo")
		}
		want(t, "audit shows invite", owner.get("/admin/audit?action=operator.invite"), http.StatusOK, "operator.invite")
	})
}

func TestDisableOperatorEndsSession(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		o := mkOperator(t, env, "dan@example.com", auth.RoleAdmin)
		dan := newClient(t, env)
		dan.login("dan@example.com", testPassword)
		want(t, "dan before", dan.get("/admin/tenants"), http.StatusOK, "dan@example.com")

		owner := newClient(t, env)
		owner.loginOwner()
		edit := owner.get("/admin/operators/" + o.ID)
		want(t, "edit page", edit, http.StatusOK, `id="operator-edit"`)
		r := owner.post("/admin/operators/"+o.ID, url.Values{"csrf": {owner.csrf("/admin/operators/" + o.ID)},
			"name": {"Dan"}, "role": {"viewer"}, "scope": {"all"}, "disabled": {"on"}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("disable: %d\n%s", r.Status, r.Body)
		}
		want(t, "edit page after", owner.get(r.Location), http.StatusOK, "The operator was saved.", "disabled")
		r = dan.get("/admin/tenants")
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/admin/login") {
			t.Fatalf("disabled operator's session still works: %d %q", r.Status, r.Location)
		}
		want(t, "disabled login", dan.tryLogin("dan@example.com", testPassword), http.StatusUnauthorized)

		// The last owner cannot be demoted: the form says why, nothing changes.
		ownerID := regexpFind(t, `href="/admin/operators/(op_[0-9A-Za-z]+)">`+env.OwnerEmail, owner.get("/admin/operators").Body)
		r = owner.post("/admin/operators/"+ownerID, url.Values{"csrf": {owner.csrf("/admin/operators")}, "role": {"viewer"}, "scope": {"all"}})
		want(t, "demote last owner", r, http.StatusBadRequest, "last enabled owner")
		want(t, "owner still owner", owner.get("/admin/tenants"), http.StatusOK, ">owner<")
	})
}

func TestTenantAndKeyPages(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		c := newClient(t, env)
		c.loginOwner()
		tok := c.csrf("/admin/tenants")
		tenants := env.Count(t, "tenants")
		r := c.post("/admin/tenants", url.Values{"csrf": {tok}, "slug": {"Bad Slug"}, "name": {"Keep me"}})
		want(t, "bad slug", r, http.StatusBadRequest, "must be 1-63 characters", `value="Keep me"`)
		if n := env.Count(t, "tenants"); n != tenants {
			t.Fatal("bad slug stored a tenant")
		}
		r = c.post("/admin/tenants", url.Values{"csrf": {tok}, "slug": {"acme"}, "name": {"Acme Inc"}})
		if r.Status != http.StatusSeeOther || r.Location != "/admin/tenants/acme" {
			t.Fatalf("create tenant: %d %q\n%s", r.Status, r.Location, r.Body)
		}
		want(t, "tenant page", c.get("/admin/tenants/acme"), http.StatusOK, "Acme Inc", `id="key-create"`, "No key yet.")
		want(t, "duplicate slug", c.post("/admin/tenants", url.Values{"csrf": {tok}, "slug": {"acme"}}), http.StatusConflict, "already exists")

		r = c.post("/admin/tenants/acme/keys", url.Values{"csrf": {tok}, "name": {"backend"}})
		want(t, "create key", r, http.StatusOK, "shown only this once")
		plain := regexpFind(t, `id="new-key">(jk_[0-9A-Za-z]+)<`, r.Body)
		keyID := regexpFind(t, `<code>(key_[0-9A-Za-z]+)</code>`, r.Body)
		page := c.get("/admin/tenants/acme")
		if strings.Contains(page.Body, plain) {
			t.Fatal("the tenant page shows the full key again")
		}
		if got := apiStatus(t, env, plain); got != http.StatusOK {
			t.Fatalf("API with the new key: %d", got)
		}
		r = c.post("/admin/tenants/acme/keys/"+keyID+"/revoke", url.Values{"csrf": {tok}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("revoke: %d\n%s", r.Status, r.Body)
		}
		want(t, "after revoke", c.get(r.Location), http.StatusOK, "The key was revoked", "revoked 20")
		if got := apiStatus(t, env, plain); got != http.StatusUnauthorized {
			t.Fatalf("API with the revoked key: %d", got)
		}
		want(t, "revoke unknown key", c.post("/admin/tenants/acme/keys/key_nope/revoke", url.Values{"csrf": {tok}}), http.StatusNotFound)
		want(t, "unknown tenant", c.get("/admin/tenants/nope"), http.StatusNotFound)
		want(t, "bad cursor", c.get("/admin/tenants?cursor=zzz"), http.StatusBadRequest, "out of date")
		want(t, "audit by tenant", c.get("/admin/audit?tenant=acme&action=key.revoke"), http.StatusOK, keyID, "key.revoke")
	})
}

// apiStatus calls the HTTP API with key and returns the status.
func apiStatus(t *testing.T, env *apptest.Env, key string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, env.URL+"/v1/contacts", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}
