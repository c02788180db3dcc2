package notify_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/joist-dev/joist/internal/admin/admintest"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/testutil"
	"github.com/joist-dev/joist/wire"
)

// TestBellBrowser is examples/bell/index.html in a real Chromium, served
// from an origin of its own that the tenant allows: it loads /notify.js
// from joist, shows the unread badge, updates it in real time when a
// notification is written, lists the notifications in the dropdown (a
// new one appears while it is open), and "Mark all read" clears the badge
// through the API.
func TestBellBrowser(t *testing.T) {
	browser := admintest.NewBrowser(t, admintest.Chromium(t))
	page, err := os.ReadFile(filepath.Join("..", "..", "examples", "bell", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	}))
	defer site.Close()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		a := newFx(t, env, "clinic-a")
		alice := a.contact(t, "alice")
		a.want(t, http.StatusOK, "PUT", "/v1/notification-settings", "key", wire.NotificationSettings{AllowedOrigins: []string{site.URL}})
		a.notify(t, alice, "first")
		a.notify(t, alice, "second")
		tok := a.token(t, "alice")

		ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
		defer cancel()
		admintest.Step(t, ctx, "open the page",
			chromedp.Navigate(site.URL+"/?joist="+url.QueryEscape(env.URL)+"&token="+url.QueryEscape(tok)),
			chromedp.WaitVisible(chromedp.CSS(".jn-bell")))
		badge := func(want string) {
			t.Helper()
			testutil.Eventually(t, 10*time.Second, func() error {
				got, err := chromedp.Run(ctx, chromedp.Evaluate[string](
					`(function(){var b=document.querySelector(".jn-badge");return !b||b.hidden?"(hidden)":b.textContent})()`))
				if err != nil || got != want {
					return fmt.Errorf("badge %q (%v), want %q", got, err, want)
				}
				return nil
			})
		}
		badge("2")
		a.notify(t, alice, "third, live")
		badge("3")

		admintest.Step(t, ctx, "open the dropdown",
			chromedp.Click(chromedp.CSS(".jn-bell")),
			chromedp.WaitVisible(chromedp.CSS(".jn-item")))
		items := func() string {
			s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll(".jn-item .jn-title")).map(e=>e.textContent).join("|")`))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		if got := items(); got != "third, live|second|first" {
			t.Fatalf("dropdown: %q", got)
		}
		a.notify(t, alice, "<b>fourth</b>")
		badge("4")
		testutil.Eventually(t, 10*time.Second, func() error {
			if got := items(); !strings.HasPrefix(got, "<b>fourth</b>|") {
				return fmt.Errorf("dropdown: %q", got)
			}
			return nil
		})
		admintest.Step(t, ctx, "mark all read", chromedp.Click(chromedp.CSS(".jn-readall")))
		badge("(hidden)")
		if c := a.counts(t, tok); c.Unread != 0 {
			t.Fatalf("after Mark all read, the API counts %+v", c)
		}
		// Another tab (the API) marks a new one read: the badge follows.
		id, _ := a.notify(t, alice, "fifth")
		badge("1")
		a.want(t, http.StatusOK, "POST", "/v1/feed/"+id+"/read", tok, nil)
		badge("(hidden)")

		// A tenant that does not list the site's origin: its contact's
		// notification never reaches the page (the browser refuses the
		// answers), though another tenant lists the origin.
		b := newFx(t, env, "clinic-b")
		bob := b.contact(t, "bob")
		b.notify(t, bob, "for bob")
		admintest.Step(t, ctx, "another tenant's page",
			chromedp.Navigate(site.URL+"/?joist="+url.QueryEscape(env.URL)+"&token="+url.QueryEscape(b.token(t, "bob"))),
			chromedp.WaitVisible(chromedp.CSS(".jn-bell")))
		time.Sleep(1500 * time.Millisecond)
		badge("(hidden)")
	})
}
