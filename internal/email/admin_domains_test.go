package email_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/admin/admintest"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/config"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// TestDomainPages: the domain page lists the records to publish (the
// long DKIM value also as its 255-character strings) and the keys; Check
// DNS against a DNS server in the test shows fail lines before the
// records are published and pass lines after; a rotation adds a pending
// key, which the next check activates and says so. A viewer may check
// but not rotate (no button, 403); a scoped operator of another tenant
// gets 404; the instance's domains have their own page.
func TestDomainPages(t *testing.T) {
	t.Parallel()
	px := newDNSProxy(t)
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		px.serve(t, nil)
		alpha := admintest.MkTenant(t, env, "alpha")
		admintest.MkTenant(t, env, "acme")
		var d wire.Domain
		r := newCaller(t, env, "acme").do(t, "POST", "/v1/domains", `{"name":"acme.example","spf_include":"_spf.relay.example"}`)
		r.json(t, &d)
		if r.status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		if r := newCaller(t, env, "").do(t, "POST", "/v1/domains", `{"name":"shared.example","provider":"resend"}`); r.status != http.StatusCreated {
			t.Fatalf("instance domain: %d %s", r.status, r.body)
		}
		owner := admintest.NewClient(t, env)
		owner.LoginOwner()
		const page = "/admin/tenants/acme/emails/domains/acme.example"
		admintest.Want(t, "the log links to domains", owner.Get("/admin/tenants/acme/emails"), http.StatusOK, `href="/admin/tenants/acme/emails/domains"`)
		list := owner.Get("/admin/tenants/acme/emails/domains")
		admintest.Want(t, "the list", list, http.StatusOK, `href="`+page+`"`, d.DKIM[0].Selector+" (rsa, active)")
		if strings.Contains(list.Body, "shared.example") {
			t.Fatal("the tenant's list shows the instance's domain")
		}
		admintest.Want(t, "the instance's page links to its domains", owner.Get("/admin/tenants/_"), http.StatusOK, `href="/admin/tenants/_/emails/domains"`)
		admintest.Want(t, "the instance's domains", owner.Get("/admin/tenants/_/emails/domains"), http.StatusOK, "shared.example")
		admintest.Want(t, "an instance domain", owner.Get("/admin/tenants/_/emails/domains/shared.example"), http.StatusOK,
			"resend._domainkey.shared.example", "feedback-smtp.us-east-1.amazonses.com")

		dk := d.Records[0]
		esc := strings.NewReplacer("+", "&#43;").Replace // as html/template writes text
		p := owner.Get(page)
		admintest.Want(t, "the domain page", p, http.StatusOK, dk.Name, esc(dk.Value), `"`+esc(dk.Strings[0])+`" "`+esc(dk.Strings[1])+`"`,
			`data-copy="rec-value-0"`, `data-copy="rec-strings-0"`, "v=spf1 include:_spf.relay.example ~all", "_dmarc.acme.example",
			`id="domain-keys"`, `id="domain-check"`, `id="domain-rotate"`)

		// Nothing published: the check shows fail lines with their fix.
		csrf := owner.CSRF(page)
		r1 := owner.Post(page+"/check", url.Values{"csrf": {csrf}})
		admintest.Want(t, "check, nothing published", r1, http.StatusOK, `id="domain-check-results"`, `<span class="badge revoked">fail</span>`)
		if strings.Contains(r1.Body, `<span class="badge ok">pass</span></td><td>`+"DKIM") {
			t.Fatal("a pass line before anything is published")
		}
		// Published: DKIM and DMARC pass.
		px.serve(t, d.Records)
		r2 := owner.Post(page+"/check", url.Values{"csrf": {csrf}})
		admintest.Want(t, "check, published", r2, http.StatusOK, `<tr><td>dkim</td><td><span class="badge ok">pass</span>`,
			`<tr><td>dmarc</td><td><span class="badge ok">pass</span>`)

		// Rotation: a pending key; a second rotation is the page with the message.
		rr := owner.Post(page+"/rotate-dkim", url.Values{"csrf": {csrf}})
		if rr.Status != http.StatusSeeOther || !strings.Contains(rr.Location, "flash=dkim_rotated") {
			t.Fatalf("rotate: %d %q\n%s", rr.Status, rr.Location, rr.Body)
		}
		admintest.Want(t, "after rotate", owner.Get(rr.Location), http.StatusOK, "A new DKIM key was made", ">pending<", "new after a rotation")
		admintest.Want(t, "second rotation", owner.Post(page+"/rotate-dkim", url.Values{"csrf": {csrf}}), http.StatusConflict, "already waiting to be published")
		if got := admintest.AuditTargets(t, env, "email_domain.rotate_dkim"); len(got) != 1 {
			t.Fatalf("audit: %v", got)
		}
		var rot wire.Domain
		newCaller(t, env, "acme").do(t, "GET", "/v1/domains/acme.example", nil).json(t, &rot)
		px.serve(t, rot.Records)

		// A viewer checks (the check reads, as the API's GET), which
		// activates the published key; they cannot rotate.
		admintest.MkOperator(t, env, "vera@example.com", auth.RoleViewer)
		v := admintest.NewClient(t, env)
		v.Login("vera@example.com", admintest.Password)
		vp := v.Get(page)
		admintest.Want(t, "viewer's page", vp, http.StatusOK, dk.Name, `id="domain-check"`)
		if strings.Contains(vp.Body, `id="domain-rotate"`) {
			t.Fatal("the viewer sees the rotate button")
		}
		vcsrf := v.CSRF(page)
		admintest.Want(t, "viewer rotates", v.Post(page+"/rotate-dkim", url.Values{"csrf": {vcsrf}}), http.StatusForbidden)
		admintest.Want(t, "viewer checks: the pending key starts signing", v.Post(page+"/check", url.Values{"csrf": {vcsrf}}), http.StatusOK,
			`<tr><td>dkim</td><td><span class="badge ">info</span>`, "signs the domain&#39;s mail from now on", "no longer signs", ">retired<")

		// Another tenant's operator: 404, reading or writing.
		admintest.MkOperator(t, env, "sam@example.com", auth.RoleAdmin, alpha.ID)
		sam := admintest.NewClient(t, env)
		sam.Login("sam@example.com", admintest.Password)
		admintest.Want(t, "own tenant's domains", sam.Get("/admin/tenants/alpha/emails/domains"), http.StatusOK, "No domain yet.")
		scsrf := sam.CSRF("/admin/tenants/alpha/emails/domains")
		for _, path := range []string{"/admin/tenants/acme/emails/domains", page, "/admin/tenants/alpha/emails/domains/acme.example",
			"/admin/tenants/" + store.InstanceTenantSlug + "/emails/domains"} {
			admintest.Want(t, "GET "+path, sam.Get(path), http.StatusNotFound)
		}
		for _, path := range []string{page + "/check", page + "/rotate-dkim", "/admin/tenants/alpha/emails/domains/acme.example/rotate-dkim"} {
			admintest.Want(t, "POST "+path, sam.Post(path, url.Values{"csrf": {scsrf}}), http.StatusNotFound)
		}
		if got := admintest.AuditTargets(t, env, "email_domain.rotate_dkim"); len(got) != 1 {
			t.Fatalf("audit after the others: %v", got)
		}
	}, func(c *config.Config) { c.DNSServer = px.addr })
}

// TestDomainPageDNSUnreachable: with a DNS server that does not answer,
// Check DNS shows the domain page with a message (503), not an error page.
func TestDomainPageDNSUnreachable(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, store.SQLite, func(c *config.Config) { c.DNSServer = "127.0.0.1:1" })
	admintest.MkTenant(t, env, "acme")
	if r := newCaller(t, env, "acme").do(t, "POST", "/v1/domains", `{"name":"acme.example"}`); r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	owner := admintest.NewClient(t, env)
	owner.LoginOwner()
	const page = "/admin/tenants/acme/emails/domains/acme.example"
	r := owner.Post(page+"/check", url.Values{"csrf": {owner.CSRF(page)}})
	admintest.Want(t, "check", r, http.StatusServiceUnavailable, "The check could not run", "did not answer", `id="domain-records"`)
}
