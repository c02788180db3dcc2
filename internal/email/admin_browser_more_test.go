package email_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/joist-dev/joist/internal/admin/admintest"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/config"
	"github.com/joist-dev/joist/wire"
)

// forgedPost is a POST a viewer's page sends with the viewer's real
// session and CSRF token (taken from the page's logout form): the server,
// not a hidden button, refuses it.
const forgedPost = `(async () => {
	const csrf = document.querySelector("input[name=csrf]").value;
	const r = await fetch(%q, {method: "POST", body: new URLSearchParams(Object.assign({csrf}, %s))});
	return r.status;
})()`

// TestEmailSuppressionsDomainsBrowser is the suppression list and the
// sending domains in a real browser. A suppression put through the API
// shows in the list reached from the tenant page; a viewer sees no
// Release button and their forged POST is 403, changing nothing; the
// owner's Release (confirmed in the dialog) removes it, for the API too.
// A domain made through the API shows its DNS records; Check DNS shows
// fail lines while nothing is published, pass lines once the test's DNS
// server has the records.
func TestEmailSuppressionsDomainsBrowser(t *testing.T) {
	browser := admintest.NewBrowser(t, admintest.Chromium(t))
	px := newDNSProxy(t)
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		px.serve(t, nil)
		admintest.MkTenant(t, env, "acme")
		admintest.MkOperator(t, env, "vera@example.com", auth.RoleViewer)
		c := newCaller(t, env, "acme")
		if r := c.do(t, "PUT", "/v1/email/suppressions/bob@x.example", `{"category":"marketing","reason":"asked by phone"}`); r.status >= 300 {
			t.Fatalf("suppress: %d %s", r.status, r.body)
		}
		var d wire.Domain
		if r := c.do(t, "POST", "/v1/domains", `{"name":"acme.example","spf_include":"_spf.relay.example"}`); r.status != http.StatusCreated {
			t.Fatalf("domain: %d %s", r.status, r.body)
		} else {
			r.json(t, &d)
		}
		const page = "/admin/tenants/acme/emails/suppressions"

		// The viewer first, in a browser context of their own.
		vctx, vcancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
		defer vcancel()
		admintest.Step(t, vctx, "viewer login",
			chromedp.Navigate(env.URL+"/admin/login?next="+page),
			chromedp.WaitVisible(chromedp.ID("login-form")),
			chromedp.SendKeys(chromedp.ID("email"), "vera@example.com"),
			chromedp.SendKeys(chromedp.ID("password"), admintest.Password),
			chromedp.Click(chromedp.ID("login")),
			chromedp.WaitVisible(chromedp.ID("suppressions")))
		if got := admintest.Text(t, vctx, "suppressions"); !strings.Contains(got, "bob@x.example") || !strings.Contains(got, "asked by phone") {
			t.Fatalf("the viewer's list:\n%s", got)
		}
		if n, err := chromedp.Run(vctx, chromedp.Evaluate[int](`document.querySelectorAll("#suppressions form, #suppression-add").length`)); err != nil || n != 0 {
			t.Fatalf("the viewer sees %d release or add forms (%v)", n, err)
		}
		before := env.Count(t, "email_suppressions")
		for _, forged := range []struct{ path, form string }{
			{page + "/release", `{address: "bob@x.example", category: "marketing"}`},
			{page, `{address: "carol@x.example", category: "all"}`},
		} {
			status, err := chromedp.Run(vctx, chromedp.Evaluate[int](fmt.Sprintf(forgedPost, forged.path, forged.form), chromedp.EvalAwaitPromise))
			if err != nil || status != http.StatusForbidden {
				t.Fatalf("the viewer's forged POST %s: %d (%v), want 403", forged.path, status, err)
			}
		}
		if n := env.Count(t, "email_suppressions"); n != before {
			t.Fatalf("the viewer's forged POSTs changed the suppressions: %d -> %d", before, n)
		}

		// The owner releases it through the page's button.
		ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
		defer cancel()
		admintest.AcceptDialogs(ctx)
		admintest.LoginAs(t, ctx, env, "/admin/tenants/acme", "tenant-emails")
		admintest.Step(t, ctx, "suppressions",
			chromedp.Click(chromedp.ID("tenant-emails")),
			chromedp.WaitVisible(chromedp.ID("email-nav-suppressions")),
			chromedp.Click(chromedp.ID("email-nav-suppressions")),
			chromedp.WaitVisible(chromedp.ID("suppressions")))
		if got := admintest.Text(t, ctx, "suppressions"); !strings.Contains(got, "bob@x.example") || !strings.Contains(got, "api") {
			t.Fatalf("the list:\n%s", got)
		}
		admintest.Step(t, ctx, "release",
			chromedp.Click(chromedp.CSS(`button[id="release-marketing-bob@x.example"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#suppressions td.muted`)))
		if got := admintest.Text(t, ctx, "suppressions"); strings.Contains(got, "bob@x.example") || !strings.Contains(got, "No suppression matches.") {
			t.Fatalf("after release:\n%s", got)
		}
		if body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main"))); err != nil || !strings.Contains(body, "The address was released") {
			t.Fatalf("no flash after release (%v):\n%s", err, body)
		}
		if got := apiSuppressions(t, env, "acme"); len(got) != 0 {
			t.Fatalf("after release the API sees %q", got)
		}
		if got := admintest.AuditTargets(t, env, "email_suppression.delete"); len(got) != 1 || got[0] != "bob@x.example" {
			t.Fatalf("audit: %v", got)
		}

		// The domain: its records, then Check DNS before and after they
		// are published.
		admintest.Step(t, ctx, "domains",
			chromedp.Click(chromedp.ID("email-nav-domains")),
			chromedp.WaitVisible(chromedp.ID("domains")),
			chromedp.Click(chromedp.CSS(`#domains a[href$="/emails/domains/acme.example"]`)),
			chromedp.WaitVisible(chromedp.ID("domain-records")))
		recs := admintest.Text(t, ctx, "domain-records")
		for _, want := range []string{d.Records[0].Name, "v=spf1 include:_spf.relay.example ~all", "_dmarc.acme.example"} {
			if !strings.Contains(recs, want) {
				t.Fatalf("the records lack %q:\n%s", want, recs)
			}
		}
		admintest.Step(t, ctx, "check, nothing published",
			chromedp.Click(chromedp.ID("domain-check")),
			chromedp.WaitVisible(chromedp.ID("domain-check-results")))
		if got := admintest.Text(t, ctx, "domain-check-results"); !strings.Contains(got, "fail") {
			t.Fatalf("check before publishing:\n%s", got)
		}
		px.serve(t, d.Records)
		admintest.Step(t, ctx, "check, published",
			chromedp.Navigate(env.URL+"/admin/tenants/acme/emails/domains/acme.example"), // a page without results
			chromedp.WaitVisible(chromedp.ID("domain-records")),
			chromedp.Click(chromedp.ID("domain-check")),
			chromedp.WaitVisible(chromedp.ID("domain-check-results")))
		// DKIM and DMARC now pass (SPF's include names a domain that does
		// not exist in the test's DNS, so it still fails).
		got := admintest.Text(t, ctx, "domain-check-results")
		status := map[string][]string{}
		for _, line := range strings.Split(got, "\n") {
			if f := strings.Fields(line); len(f) >= 2 {
				status[f[0]] = append(status[f[0]], f[1])
			}
		}
		if !slices.Contains(status["dkim"], "pass") || slices.Contains(status["dkim"], "fail") || !slices.Contains(status["dmarc"], "pass") {
			t.Fatalf("check after publishing: %v\n%s", status, got)
		}
	}, func(c *config.Config) { c.DNSServer = px.addr })
}
