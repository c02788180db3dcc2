package admintest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/joist-dev/joist/internal/apptest"
)

// Chromium returns the path of the Chromium to test with: JOIST_TEST_CHROMIUM
// or /usr/bin/chromium. Without one the test skips, or fails when CI=true so
// that CI cannot pass without running the browser tests.
func Chromium(t *testing.T) string {
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

// NewBrowser starts one headless Chromium with a fresh profile, bounded by
// 60 seconds, closed when the test ends.
func NewBrowser(t *testing.T, path string) context.Context {
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

// Step runs browser actions, failing the test with what was on screen.
func Step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("%s: %v (page %s)", what, err, loc)
	}
	Shot(t, ctx, what)
}

// LoginAs opens path, logs in as the owner through the login form (which
// brings the browser back to path) and waits for the element waitID.
func LoginAs(t *testing.T, ctx context.Context, env *apptest.Env, path, waitID string) {
	t.Helper()
	Step(t, ctx, "login",
		chromedp.Navigate(env.URL+path),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("email"), env.OwnerEmail),
		chromedp.SendKeys(chromedp.ID("password"), env.OwnerPassword),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID(waitID)))
}

// Shot saves a screenshot when JOIST_TEST_SCREENSHOTS names a folder, to
// look at the pages a test went through.
func Shot(t *testing.T, ctx context.Context, name string) {
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

// Text is the text of the element with id, or fails the test.
func Text(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
	if err != nil {
		t.Fatalf("text of #%s: %v", id, err)
	}
	return s
}

// AcceptDialogs answers "OK" to every confirm() the page opens (forms with
// data-confirm ask before they are sent), from another goroutine than the
// one receiving the events, as chromedp requires.
func AcceptDialogs(ctx context.Context) {
	opening := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range opening {
			if err != nil {
				return
			}
			go func() {
				_ = chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
					_, err := cdp.Call(ctx, t, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
					return err
				}))
			}()
		}
	}()
}
