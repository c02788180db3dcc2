package admin_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/joist-dev/joist/internal/admin/admintest"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/auth"
)

func TestBrowser(t *testing.T) {
	path := admintest.Chromium(t)
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		tn := admintest.MkTenant(t, env, "acme")
		admintest.MkContact(t, env, tn.ID, "user-42", "grace@acme.example", "Grace Hopper")
		admintest.MkContact(t, env, tn.ID, "user-7", "alan@acme.example", "Alan Turing")
		admintest.MkOperator(t, env, "vera@example.com", auth.RoleViewer)
		ctx := admintest.NewBrowser(t, path)

		// Log in through the form; the login page brings us back to the
		// page we asked for.
		admintest.LoginAs(t, ctx, env, "/admin/tenants/acme", "contact-q")
		if got := admintest.Text(t, ctx, "op-email"); got != env.OwnerEmail {
			t.Fatalf("header shows %q, want the owner's email", got)
		}

		// Search a contact, open it, see its timeline.
		admintest.Step(t, ctx, "search",
			chromedp.SendKeys(chromedp.ID("contact-q"), "grace"),
			chromedp.Click(chromedp.ID("contact-search")),
			chromedp.WaitVisible(chromedp.ID("contacts")))
		if got := admintest.Text(t, ctx, "contacts"); !strings.Contains(got, "user-42") || strings.Contains(got, "user-7") {
			t.Fatalf("search for grace shows:\n%s", got)
		}
		admintest.Step(t, ctx, "contact",
			chromedp.Click(chromedp.CSS(`#contacts a[href$="/contacts/user-42"]`)),
			chromedp.WaitVisible(chromedp.ID("timeline")))
		if got := admintest.Text(t, ctx, "contact-fields"); !strings.Contains(got, "grace@acme.example") {
			t.Fatalf("contact fields:\n%s", got)
		}
		if got := admintest.Text(t, ctx, "timeline"); !strings.Contains(got, "contact.created") || !strings.Contains(got, "Contact created") {
			t.Fatalf("timeline:\n%s", got)
		}

		// Create a key; it is shown once and works against the API.
		keys := env.Count(t, "api_keys")
		admintest.Step(t, ctx, "create key",
			chromedp.Navigate(env.URL+"/admin/tenants/acme"),
			chromedp.SendKeys(chromedp.ID("key-name"), "browser key"),
			chromedp.Click(chromedp.ID("key-create-button")),
			chromedp.WaitVisible(chromedp.ID("new-key")))
		key := strings.TrimSpace(admintest.Text(t, ctx, "new-key"))
		if !strings.HasPrefix(key, "jk_") || env.Count(t, "api_keys") != keys+1 {
			t.Fatalf("new key %q, api_keys %d -> %d", key, keys, env.Count(t, "api_keys"))
		}
		if got := admintest.APIStatus(t, env, key); got != http.StatusOK {
			t.Fatalf("API with the key from the browser: %d", got)
		}
		admintest.Step(t, ctx, "tenant page again",
			chromedp.Navigate(env.URL+"/admin/tenants/acme"),
			chromedp.WaitVisible(chromedp.ID("keys")))
		if html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html"))); strings.Contains(html, key) ||
			!strings.Contains(admintest.Text(t, ctx, "keys"), "browser key") {
			t.Fatal("the tenant page shows the full key again, or not the key's name")
		}

		// The audit log has the key.create entry, by the owner.
		admintest.Step(t, ctx, "audit",
			chromedp.Navigate(env.URL+"/admin/audit"),
			chromedp.SendKeys(chromedp.CSS(`#audit-filters input[name=action]`), "key.create"),
			chromedp.Click(chromedp.CSS(`#audit-filters button`)),
			// Only the filtered page renders the filter as an attribute.
			chromedp.WaitVisible(chromedp.CSS(`#audit-filters input[name=action][value="key.create"]`)))
		if got := admintest.Text(t, ctx, "audit"); !strings.Contains(got, "key.create") || !strings.Contains(got, env.OwnerEmail) || strings.Contains(got, "operator.login") {
			t.Fatalf("audit log filtered by key.create:\n%s", got)
		}

		// The invite form greys out the tenant choice while "All tenants"
		// is picked (admin.js).
		admintest.Step(t, ctx, "operators",
			chromedp.Navigate(env.URL+"/admin/operators"),
			chromedp.WaitVisible(chromedp.ID("operator-invite")),
			chromedp.Click(chromedp.CSS(`#operator-invite input[data-scope=all]`)))
		disabled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("#operator-invite input[name=tenant]").disabled`))
		if err != nil || !disabled {
			t.Fatalf("tenant checkboxes enabled with all tenants chosen (err %v)", err)
		}

		// A viewer, in a separate browser context (own cookies), has no
		// create button, and a forged POST with their real session and
		// token is refused by the server.
		vctx, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
		defer cancel()
		admintest.Step(t, vctx, "viewer login",
			chromedp.Navigate(env.URL+"/admin/login?next=/admin/tenants/acme"),
			chromedp.SendKeys(chromedp.ID("email"), "vera@example.com"),
			chromedp.SendKeys(chromedp.ID("password"), admintest.Password),
			chromedp.Click(chromedp.ID("login")),
			chromedp.WaitVisible(chromedp.ID("keys")))
		if role := admintest.Text(t, vctx, "op-role"); role != "viewer" {
			t.Fatalf("viewer's header shows role %q", role)
		}
		hidden, err := chromedp.Run(vctx, chromedp.Evaluate[bool](`document.getElementById("key-create") === null`))
		if err != nil || !hidden {
			t.Fatalf("viewer sees the create-key form (err %v)", err)
		}
		keys = env.Count(t, "api_keys")
		status, err := chromedp.Run(vctx, chromedp.Evaluate[int](fmt.Sprintf(`(async () => {
			const csrf = document.querySelector("input[name=csrf]").value;
			const r = await fetch("/admin/tenants/acme/keys", {method: "POST", body: new URLSearchParams({csrf, name: "forged"})});
			return r.status;
		})()`), chromedp.EvalAwaitPromise))
		if err != nil || status != http.StatusForbidden {
			t.Fatalf("viewer's forged POST: status %d, err %v; want 403", status, err)
		}
		if n := env.Count(t, "api_keys"); n != keys {
			t.Fatalf("viewer's forged POST stored a key: api_keys %d -> %d", keys, n)
		}
	})
}
