package operators_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/admin/admintest"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/auth"
)

func TestInviteFlow(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		a := admintest.MkTenant(t, env, "alpha")
		admintest.MkTenant(t, env, "bravo")
		owner := admintest.NewClient(t, env)
		owner.LoginOwner()
		tok := owner.CSRF("/admin/operators")
		r := owner.Post("/admin/operators", url.Values{"csrf": {tok}, "email": {"Nina@Example.com"}, "name": {"Nina"},
			"role": {"support"}, "scope": {"some"}, "tenant": {a.ID}})
		admintest.Want(t, "invite", r, http.StatusOK, "nina@example.com is invited", "/admin/invite/")
		token := admintest.RegexpFind(t, `/admin/invite/([0-9A-Za-z]+)<`, r.Body)
		// Bad input re-renders the form and stores nothing.
		ops := env.Count(t, "operators")
		r = owner.Post("/admin/operators", url.Values{"csrf": {tok}, "email": {"not an email"}, "role": {"support"}, "scope": {"all"}})
		admintest.Want(t, "invite bad email", r, http.StatusBadRequest, "is not a plain address", `id="operator-invite"`)
		r = owner.Post("/admin/operators", url.Values{"csrf": {tok}, "email": {"nina@example.com"}, "role": {"support"}, "scope": {"all"}})
		admintest.Want(t, "invite twice", r, http.StatusConflict, "already exists")
		if n := env.Count(t, "operators"); n != ops {
			t.Fatalf("operators %d -> %d after refused invites", ops, n)
		}

		nina := admintest.NewClient(t, env)
		admintest.Want(t, "invite page", nina.Get("/admin/invite/"+token), http.StatusOK, "Choose the password")
		itok := admintest.RegexpFind(t, `name="csrf" value="([^"]+)"`, nina.Get("/admin/invite/"+token).Body)
		r = nina.Post("/admin/invite/"+token, url.Values{"csrf": {itok}, "password": {admintest.Password}, "confirm": {admintest.Password + "x"}})
		admintest.Want(t, "passwords differ", r, http.StatusBadRequest, "differ")
		r = nina.Post("/admin/invite/"+token, url.Values{"csrf": {itok}, "password": {"short"}, "confirm": {"short"}})
		admintest.Want(t, "weak password", r, http.StatusBadRequest)
		r = nina.Post("/admin/invite/"+token, url.Values{"password": {admintest.Password}, "confirm": {admintest.Password}})
		admintest.Want(t, "accept without token", r, http.StatusForbidden)
		r = nina.Post("/admin/invite/"+token, url.Values{"csrf": {itok}, "password": {admintest.Password}, "confirm": {admintest.Password}})
		if r.Status != http.StatusSeeOther || r.Location != "/admin/login?flash=password_set" {
			t.Fatalf("accept invite: %d %q\n%s", r.Status, r.Location, r.Body)
		}
		admintest.Want(t, "used invite", nina.Get("/admin/invite/"+token), http.StatusNotFound, "invalid, used or expired")
		admintest.Want(t, "login page after invite", nina.Get("/admin/login?flash=password_set"), http.StatusOK, "Your password is set")
		nina.Login("nina@example.com", admintest.Password)
		home := nina.Get("/admin/tenants")
		admintest.Want(t, "nina's home", home, http.StatusOK, "nina@example.com", ">support<", "/admin/tenants/alpha")
		if strings.Contains(home.Body, "/admin/tenants/bravo") {
			t.Fatal("nina, scoped to alpha, sees bravo")
		}
		admintest.Want(t, "audit shows invite", owner.Get("/admin/audit?action=operator.invite"), http.StatusOK, "operator.invite")
	})
}

func TestDisableOperatorEndsSession(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		o := admintest.MkOperator(t, env, "dan@example.com", auth.RoleAdmin)
		dan := admintest.NewClient(t, env)
		dan.Login("dan@example.com", admintest.Password)
		admintest.Want(t, "dan before", dan.Get("/admin/tenants"), http.StatusOK, "dan@example.com")

		owner := admintest.NewClient(t, env)
		owner.LoginOwner()
		edit := owner.Get("/admin/operators/" + o.ID)
		admintest.Want(t, "edit page", edit, http.StatusOK, `id="operator-edit"`)
		r := owner.Post("/admin/operators/"+o.ID, url.Values{"csrf": {owner.CSRF("/admin/operators/" + o.ID)},
			"name": {"Dan"}, "role": {"viewer"}, "scope": {"all"}, "disabled": {"on"}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("disable: %d\n%s", r.Status, r.Body)
		}
		admintest.Want(t, "edit page after", owner.Get(r.Location), http.StatusOK, "The operator was saved.", "disabled")
		r = dan.Get("/admin/tenants")
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/admin/login") {
			t.Fatalf("disabled operator's session still works: %d %q", r.Status, r.Location)
		}
		admintest.Want(t, "disabled login", dan.TryLogin("dan@example.com", admintest.Password), http.StatusUnauthorized)

		// The last owner cannot be demoted: the form says why, nothing changes.
		ownerID := admintest.RegexpFind(t, `href="/admin/operators/(op_[0-9A-Za-z]+)">`+env.OwnerEmail, owner.Get("/admin/operators").Body)
		r = owner.Post("/admin/operators/"+ownerID, url.Values{"csrf": {owner.CSRF("/admin/operators")}, "role": {"viewer"}, "scope": {"all"}})
		admintest.Want(t, "demote last owner", r, http.StatusBadRequest, "last enabled owner")
		admintest.Want(t, "owner still owner", owner.Get("/admin/tenants"), http.StatusOK, ">owner<")
	})
}
