package tenants_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/admin/admintest"
	"github.com/joist-dev/joist/internal/apptest"
)

func TestTenantAndKeyPages(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		c := admintest.NewClient(t, env)
		c.LoginOwner()
		tok := c.CSRF("/admin/tenants")
		tenants := env.Count(t, "tenants")
		r := c.Post("/admin/tenants", url.Values{"csrf": {tok}, "slug": {"Bad Slug"}, "name": {"Keep me"}})
		admintest.Want(t, "bad slug", r, http.StatusBadRequest, "must be 1-63 characters", `value="Keep me"`)
		if n := env.Count(t, "tenants"); n != tenants {
			t.Fatal("bad slug stored a tenant")
		}
		r = c.Post("/admin/tenants", url.Values{"csrf": {tok}, "slug": {"acme"}, "name": {"Acme Inc"}})
		if r.Status != http.StatusSeeOther || r.Location != "/admin/tenants/acme" {
			t.Fatalf("create tenant: %d %q\n%s", r.Status, r.Location, r.Body)
		}
		admintest.Want(t, "tenant page", c.Get("/admin/tenants/acme"), http.StatusOK, "Acme Inc", `id="key-create"`, "No key yet.")
		admintest.Want(t, "duplicate slug", c.Post("/admin/tenants", url.Values{"csrf": {tok}, "slug": {"acme"}}), http.StatusConflict, "already exists")

		r = c.Post("/admin/tenants/acme/keys", url.Values{"csrf": {tok}, "name": {"backend"}})
		admintest.Want(t, "create key", r, http.StatusOK, "shown only this once")
		plain := admintest.RegexpFind(t, `id="new-key">(jk_[0-9A-Za-z]+)<`, r.Body)
		keyID := admintest.RegexpFind(t, `<code>(key_[0-9A-Za-z]+)</code>`, r.Body)
		page := c.Get("/admin/tenants/acme")
		if strings.Contains(page.Body, plain) {
			t.Fatal("the tenant page shows the full key again")
		}
		if got := admintest.APIStatus(t, env, plain); got != http.StatusOK {
			t.Fatalf("API with the new key: %d", got)
		}
		r = c.Post("/admin/tenants/acme/keys/"+keyID+"/revoke", url.Values{"csrf": {tok}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("revoke: %d\n%s", r.Status, r.Body)
		}
		admintest.Want(t, "after revoke", c.Get(r.Location), http.StatusOK, "The key was revoked", "revoked 20")
		if got := admintest.APIStatus(t, env, plain); got != http.StatusUnauthorized {
			t.Fatalf("API with the revoked key: %d", got)
		}
		admintest.Want(t, "revoke unknown key", c.Post("/admin/tenants/acme/keys/key_nope/revoke", url.Values{"csrf": {tok}}), http.StatusNotFound)
		admintest.Want(t, "unknown tenant", c.Get("/admin/tenants/nope"), http.StatusNotFound)
		admintest.Want(t, "bad cursor", c.Get("/admin/tenants?cursor=zzz"), http.StatusBadRequest, "out of date")
		admintest.Want(t, "audit by tenant", c.Get("/admin/audit?tenant=acme&action=key.revoke"), http.StatusOK, keyID, "key.revoke")
	})
}
