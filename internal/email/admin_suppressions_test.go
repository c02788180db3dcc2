package email_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/admin/admintest"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// apiSuppressions is what GET /v1/email/suppressions answers for tenant.
func apiSuppressions(t *testing.T, env *apptest.Env, tenant string) []string {
	t.Helper()
	var list wire.List[struct {
		Address  string `json:"address"`
		Category string `json:"category"`
		Reason   string `json:"reason"`
	}]
	r := newCaller(t, env, tenant).do(t, "GET", "/v1/email/suppressions", nil)
	if r.status != http.StatusOK {
		t.Fatalf("list suppressions: %d %s", r.status, r.body)
	}
	r.json(t, &list)
	var out []string
	for _, s := range list.Data {
		out = append(out, s.Address+" "+s.Category+" "+s.Reason)
	}
	return out
}

// TestSuppressionPages: an owner suppresses an address through the form
// (the API then sees it, and the audit log has the entry), searches the
// list by address and category, gets bad input back with its message and
// the values given, and releases the address. A viewer sees the list but
// no form, and a POST of theirs is 403 and changes nothing.
func TestSuppressionPages(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		admintest.MkTenant(t, env, "acme")
		admintest.MkOperator(t, env, "vera@example.com", auth.RoleViewer)
		owner := admintest.NewClient(t, env)
		owner.LoginOwner()
		const page = "/admin/tenants/acme/emails/suppressions"
		admintest.Want(t, "the log links to suppressions", owner.Get("/admin/tenants/acme/emails"), http.StatusOK,
			`id="email-nav-suppressions"`, `href="`+page+`"`)
		admintest.Want(t, "empty list", owner.Get(page), http.StatusOK, "No suppression matches.", `id="suppression-add"`)

		csrf := owner.CSRF(page)
		expires := time.Now().UTC().Add(48 * time.Hour).Format("2006-01-02T15:04")
		r := owner.Post(page, url.Values{"csrf": {csrf}, "address": {"Ana <ANA@Guest.example>"}, "category": {"marketing"},
			"reason": {"asked by phone"}, "expires_at": {expires}})
		if r.Status != http.StatusSeeOther || !strings.Contains(r.Location, "flash=suppression_added") {
			t.Fatalf("add: %d %q\n%s", r.Status, r.Location, r.Body)
		}
		admintest.Want(t, "after add", owner.Get(r.Location), http.StatusOK, "The address was suppressed.", "ana@guest.example",
			"asked by phone", ">api<", `id="release-marketing-ana@guest.example"`)
		owner.Post(page, url.Values{"csrf": {csrf}, "address": {"bob@x.example"}, "category": {"all"}})
		if got := apiSuppressions(t, env, "acme"); !slices.Equal(got, []string{"ana@guest.example marketing asked by phone",
			"bob@x.example marketing ", "bob@x.example transactional "}) {
			t.Fatalf("the API sees %q", got)
		}
		if got := admintest.AuditTargets(t, env, "email_suppression.put"); !slices.Equal(got, []string{"ana@guest.example", "bob@x.example"}) {
			t.Fatalf("audit: %v", got)
		}

		for _, c := range []struct{ query, want, miss string }{
			{"address=BOB@x.example", "bob@x.example", "ana@guest.example"},
			{"category=transactional", "bob@x.example", "ana@guest.example"},
			{"category=marketing&address=ana@guest.example", "ana@guest.example", "bob@x.example"},
		} {
			r := owner.Get(page + "?" + c.query)
			admintest.Want(t, "?"+c.query, r, http.StatusOK, c.want)
			if strings.Contains(r.Body, c.miss) {
				t.Fatalf("?%s shows %s", c.query, c.miss)
			}
		}
		admintest.Want(t, "bad category filter", owner.Get(page+"?category=spam"), http.StatusBadRequest, "is not transactional or marketing")

		// Bad input: the form again, with the message and the values given; nothing stored.
		before := env.Count(t, "email_suppressions")
		for _, c := range []struct {
			form url.Values
			msg  string
		}{
			{url.Values{"address": {"not an address"}, "reason": {"kept reason"}}, "kept reason"},
			{url.Values{"address": {"cy@x.example"}, "category": {"spam"}}, "is not transactional, marketing or all"},
			{url.Values{"address": {"cy@x.example"}, "expires_at": {"2001-01-01"}}, "expires_at must be in the future"},
			{url.Values{"address": {"cy@x.example"}, "expires_at": {"soon"}}, "is not a time"},
		} {
			c.form.Set("csrf", csrf)
			r := owner.Post(page, c.form)
			admintest.Want(t, "bad add "+c.form.Encode(), r, http.StatusBadRequest, c.msg, `id="suppression-add"`)
		}
		if n := env.Count(t, "email_suppressions"); n != before {
			t.Fatalf("bad input stored: %d rows, had %d", n, before)
		}

		// A viewer sees, and cannot write.
		v := admintest.NewClient(t, env)
		v.Login("vera@example.com", admintest.Password)
		vp := v.Get(page)
		admintest.Want(t, "viewer's list", vp, http.StatusOK, "ana@guest.example", "bob@x.example")
		for _, form := range []string{`id="suppression-add"`, "/suppressions/release", "Release"} {
			if strings.Contains(vp.Body, form) {
				t.Fatalf("the viewer's page holds %q", form)
			}
		}
		vcsrf := v.CSRF(page)
		admintest.Want(t, "viewer adds", v.Post(page, url.Values{"csrf": {vcsrf}, "address": {"dan@x.example"}}), http.StatusForbidden)
		admintest.Want(t, "viewer releases", v.Post(page+"/release", url.Values{"csrf": {vcsrf}, "address": {"bob@x.example"},
			"category": {"marketing"}}), http.StatusForbidden)
		if n := env.Count(t, "email_suppressions"); n != before {
			t.Fatalf("the viewer changed the list: %d rows, had %d", n, before)
		}

		// Released: sends to it are attempted again; a second release is 404.
		r = owner.Post(page+"/release", url.Values{"csrf": {csrf}, "address": {"bob@x.example"}, "category": {"marketing"}})
		if r.Status != http.StatusSeeOther || !strings.Contains(r.Location, "flash=suppression_released") {
			t.Fatalf("release: %d %q\n%s", r.Status, r.Location, r.Body)
		}
		admintest.Want(t, "after release", owner.Get(r.Location), http.StatusOK, "The address was released")
		if got := apiSuppressions(t, env, "acme"); !slices.Equal(got, []string{"ana@guest.example marketing asked by phone", "bob@x.example transactional "}) {
			t.Fatalf("after release the API sees %q", got)
		}
		if got := admintest.AuditTargets(t, env, "email_suppression.delete"); !slices.Equal(got, []string{"bob@x.example"}) {
			t.Fatalf("audit: %v", got)
		}
		admintest.Want(t, "release again", owner.Post(page+"/release", url.Values{"csrf": {csrf}, "address": {"bob@x.example"},
			"category": {"marketing"}}), http.StatusNotFound, "is not suppressed")
	})
}

// TestSuppressionPagesTenantScope: an operator scoped to one tenant gets
// 404 for another tenant's suppressions, reading or writing, and changes
// nothing there.
func TestSuppressionPagesTenantScope(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		alpha := admintest.MkTenant(t, env, "alpha")
		admintest.MkTenant(t, env, "bravo")
		if r := newCaller(t, env, "bravo").do(t, "PUT", "/v1/email/suppressions/secret@bravo.example", `{"reason":"bravo's"}`); r.status != http.StatusOK {
			t.Fatalf("put: %d %s", r.status, r.body)
		}
		admintest.MkOperator(t, env, "sam@example.com", auth.RoleSupport, alpha.ID)
		sam := admintest.NewClient(t, env)
		sam.Login("sam@example.com", admintest.Password)
		own := "/admin/tenants/alpha/emails/suppressions"
		admintest.Want(t, "own tenant's", sam.Get(own), http.StatusOK, "No suppression matches.", `id="suppression-add"`)
		csrf := sam.CSRF(own)
		for _, path := range []string{"/admin/tenants/bravo/emails/suppressions", "/admin/tenants/" + store.InstanceTenantSlug + "/emails/suppressions"} {
			r := sam.Get(path)
			admintest.Want(t, "GET "+path, r, http.StatusNotFound)
			if strings.Contains(r.Body, "secret@bravo.example") {
				t.Fatalf("GET %s shows bravo's suppression", path)
			}
			admintest.Want(t, "POST "+path, sam.Post(path, url.Values{"csrf": {csrf}, "address": {"x@y.example"}}), http.StatusNotFound)
			admintest.Want(t, "POST release "+path, sam.Post(path+"/release", url.Values{"csrf": {csrf}, "address": {"secret@bravo.example"},
				"category": {"transactional"}}), http.StatusNotFound)
		}
		if got := apiSuppressions(t, env, "bravo"); len(got) != 2 {
			t.Fatalf("bravo's list changed: %q", got)
		}
		if got := apiSuppressions(t, env, "alpha"); len(got) != 0 {
			t.Fatalf("alpha's list: %q", got)
		}
	})
}
