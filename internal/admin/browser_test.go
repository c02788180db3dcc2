package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/auth"
)

// chromium returns the path of the Chromium to test with: JOIST_TEST_CHROMIUM
// or /usr/bin/chromium. Without one the test skips, or fails when CI=true so
// that CI cannot pass without running the browser tests.
func chromium(t *testing.T) string {
	t.Helper()
	p := os.Getenv("JOIST_TEST_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no Chromium at %s and CI=true: run the tests through scripts/test.sh", p)
		}
		t.Skipf("no Chromium at %s (set JOIST_TEST_CHROMIUM); skipping browser tests", p)
	}
	return p
}

// newBrowser starts one headless Chromium with a fresh profile, bounded by
// 60 seconds, closed when the test ends.
func newBrowser(t *testing.T, path string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancelTimeout := context.WithTimeout(context.Background(), 60*time.Second)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancelTimeout()
	})
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return bctx
}

// step runs browser actions, failing the test with what was on screen.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("%s: %v (page %s)", what, err, loc)
	}
	shot(t, ctx, what)
}

// shot saves a screenshot when JOIST_TEST_SCREENSHOTS names a folder, to
// look at the pages a test went through.
// loginAs opens path, logs in as the owner through the login form (which
// brings the browser back to path) and waits for the element waitID.
func loginAs(t *testing.T, ctx context.Context, env *apptest.Env, path, waitID string) {
	t.Helper()
	step(t, ctx, "login",
		chromedp.Navigate(env.URL+path),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("email"), env.OwnerEmail),
		chromedp.SendKeys(chromedp.ID("password"), env.OwnerPassword),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID(waitID)))
}

func shot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("JOIST_TEST_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	file := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name() + "-" + name)
	_ = os.WriteFile(filepath.Join(dir, file+".png"), png, 0o644)
}

func text(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
	if err != nil {
		t.Fatalf("text of #%s: %v", id, err)
	}
	return s
}

func TestBrowser(t *testing.T) {
	path := chromium(t)
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		tn := mkTenant(t, env, "acme")
		mkContact(t, env, tn.ID, "user-42", "grace@acme.example", "Grace Hopper")
		mkContact(t, env, tn.ID, "user-7", "alan@acme.example", "Alan Turing")
		mkOperator(t, env, "vera@example.com", auth.RoleViewer)
		ctx := newBrowser(t, path)

		// Log in through the form; the login page brings us back to the
		// page we asked for.
		loginAs(t, ctx, env, "/admin/tenants/acme", "contact-q")
		if got := text(t, ctx, "op-email"); got != env.OwnerEmail {
			t.Fatalf("header shows %q, want the owner's email", got)
		}

		// Search a contact, open it, see its timeline.
		step(t, ctx, "search",
			chromedp.SendKeys(chromedp.ID("contact-q"), "grace"),
			chromedp.Click(chromedp.ID("contact-search")),
			chromedp.WaitVisible(chromedp.ID("contacts")))
		if got := text(t, ctx, "contacts"); !strings.Contains(got, "user-42") || strings.Contains(got, "user-7") {
			t.Fatalf("search for grace shows:\n%s", got)
		}
		step(t, ctx, "contact",
			chromedp.Click(chromedp.CSS(`#contacts a[href$="/contacts/user-42"]`)),
			chromedp.WaitVisible(chromedp.ID("timeline")))
		if got := text(t, ctx, "contact-fields"); !strings.Contains(got, "grace@acme.example") {
			t.Fatalf("contact fields:\n%s", got)
		}
		if got := text(t, ctx, "timeline"); !strings.Contains(got, "contact.created") || !strings.Contains(got, "Contact created") {
			t.Fatalf("timeline:\n%s", got)
		}

		// Create a key; it is shown once and works against the API.
		keys := env.Count(t, "api_keys")
		step(t, ctx, "create key",
			chromedp.Navigate(env.URL+"/admin/tenants/acme"),
			chromedp.SendKeys(chromedp.ID("key-name"), "browser key"),
			chromedp.Click(chromedp.ID("key-create-button")),
			chromedp.WaitVisible(chromedp.ID("new-key")))
		key := strings.TrimSpace(text(t, ctx, "new-key"))
		if !strings.HasPrefix(key, "jk_") || env.Count(t, "api_keys") != keys+1 {
			t.Fatalf("new key %q, api_keys %d -> %d", key, keys, env.Count(t, "api_keys"))
		}
		if got := apiStatus(t, env, key); got != http.StatusOK {
			t.Fatalf("API with the key from the browser: %d", got)
		}
		step(t, ctx, "tenant page again",
			chromedp.Navigate(env.URL+"/admin/tenants/acme"),
			chromedp.WaitVisible(chromedp.ID("keys")))
		if html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html"))); strings.Contains(html, key) ||
			!strings.Contains(text(t, ctx, "keys"), "browser key") {
			t.Fatal("the tenant page shows the full key again, or not the key's name")
		}

		// The audit log has the key.create entry, by the owner.
		step(t, ctx, "audit",
			chromedp.Navigate(env.URL+"/admin/audit"),
			chromedp.SendKeys(chromedp.CSS(`#audit-filters input[name=action]`), "key.create"),
			chromedp.Click(chromedp.CSS(`#audit-filters button`)),
			// Only the filtered page renders the filter as an attribute.
			chromedp.WaitVisible(chromedp.CSS(`#audit-filters input[name=action][value="key.create"]`)))
		if got := text(t, ctx, "audit"); !strings.Contains(got, "key.create") || !strings.Contains(got, env.OwnerEmail) || strings.Contains(got, "operator.login") {
			t.Fatalf("audit log filtered by key.create:\n%s", got)
		}

		// The invite form greys out the tenant choice while "All tenants"
		// is picked (admin.js).
		step(t, ctx, "operators",
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
		step(t, vctx, "viewer login",
			chromedp.Navigate(env.URL+"/admin/login?next=/admin/tenants/acme"),
			chromedp.SendKeys(chromedp.ID("email"), "vera@example.com"),
			chromedp.SendKeys(chromedp.ID("password"), testPassword),
			chromedp.Click(chromedp.ID("login")),
			chromedp.WaitVisible(chromedp.ID("keys")))
		if role := text(t, vctx, "op-role"); role != "viewer" {
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
