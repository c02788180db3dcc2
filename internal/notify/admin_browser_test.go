package notify_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/joist-dev/joist/internal/admin/admintest"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/testutil"
	"github.com/joist-dev/joist/wire"
)

// TestNotifyAdminBrowser is the notification pages in a real browser:
// from the tenant page to the events, an event posted through the API
// with its fan-out (the email queued and linked to its page, the push
// muted by the contact, the unknown recipient skipped), the email page
// reached through the link, and the contact page's card. The hostile
// guest name in the title is text: its handler never ran.
func TestNotifyAdminBrowser(t *testing.T) {
	browser := admintest.NewBrowser(t, admintest.Chromium(t))
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		instanceType(t, env)
		fx := newAdminFixture(t, env, "acme")
		email := byChannel(fx.note)["email"]

		ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
		defer cancel()
		admintest.LoginAs(t, ctx, env, "/admin/tenants/acme", "tenant-notifications")
		admintest.Step(t, ctx, "events",
			chromedp.Click(chromedp.ID("tenant-notifications")),
			chromedp.WaitVisible(chromedp.ID("events")))
		if got := admintest.Text(t, ctx, "events"); !strings.Contains(got, fx.event.ID) || !strings.Contains(got, "booking.created") ||
			!strings.Contains(got, "done") {
			t.Fatalf("the events:\n%s", got)
		}
		admintest.Step(t, ctx, "the event",
			chromedp.Click(chromedp.CSS(`#events a[href$="/events/`+fx.event.ID+`"]`)),
			chromedp.WaitVisible(chromedp.ID("event-notifications")))
		if got := admintest.Text(t, ctx, "event-counts"); got != "2 named, 2 handled: 1 notified, 1 skipped" {
			t.Fatalf("counts: %q", got)
		}
		if got := admintest.Text(t, ctx, "event-skips"); !strings.Contains(got, "ghost-acme") || !strings.Contains(got, "unknown_contact") {
			t.Fatalf("skipped recipients:\n%s", got)
		}
		if got := admintest.Text(t, ctx, "event-data"); !strings.Contains(got, `"room": "4"`) {
			t.Fatalf("data:\n%s", got)
		}
		got := admintest.Text(t, ctx, "event-notifications")
		for _, want := range []string{"host", hostileGuest + " booked", "in_app delivered", "email " + email.Status, "push skipped muted"} {
			if !strings.Contains(strings.Join(strings.Fields(got), " "), want) {
				t.Fatalf("the fan-out lacks %q:\n%s", want, got)
			}
		}
		if title, err := chromedp.Run(ctx, chromedp.Title()); err != nil || strings.Contains(title, "pwned") {
			t.Fatalf("the page's title is %q (%v): the guest's markup ran", title, err)
		}
		admintest.Step(t, ctx, "the email of the delivery",
			chromedp.Click(chromedp.CSS(`#event-notifications a.delivery-email`)),
			chromedp.WaitVisible(chromedp.ID("email-fields")))
		if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || !strings.HasSuffix(loc, "/admin/tenants/acme/emails/"+email.Target) {
			t.Fatalf("the email link went to %s (%v)", loc, err)
		}

		admintest.Step(t, ctx, "the contact",
			chromedp.Navigate(env.URL+"/admin/tenants/acme/contacts/host"),
			chromedp.WaitVisible(chromedp.ID("contact-notifications")))
		card := admintest.Text(t, ctx, "contact-notification-list")
		if !strings.Contains(card, hostileGuest+" booked") || !strings.Contains(card, "unseen") {
			t.Fatalf("the contact's notifications:\n%s", card)
		}
		if got := admintest.Text(t, ctx, "contact-push-targets"); !strings.Contains(got, "fcm") || strings.Contains(got, fcmToken) {
			t.Fatalf("the contact's devices:\n%s", got)
		}
		if got := admintest.Text(t, ctx, "contact-preferences"); !strings.Contains(got, "type_off") || !strings.Contains(got, "security.alert") {
			t.Fatalf("the contact's preferences:\n%s", got)
		}
	})
}

// openJS records, before any script of the page runs, when an EventSource
// of the page has opened (window.__streams counts them).
const openJS = `(function(){var E=window.EventSource;window.__streams=0;
window.EventSource=function(u,o){var es=new E(u,o);es.addEventListener("open",function(){window.__streams++});return es};
window.EventSource.prototype=E.prototype;window.EventSource.CLOSED=E.CLOSED;window.EventSource.OPEN=E.OPEN;window.EventSource.CONNECTING=E.CONNECTING;})()`

// TestBellLiveEventBrowser: the bell of examples/bell/index.html, served
// from an origin of its own the tenant allows, with no notification yet
// (no badge, "No notifications" in the open dropdown); an event posted
// with POST /v1/events (the real fan-out job) reaches it in real time:
// the badge shows 1 and the title appears in the dropdown, without the
// page reloading.
func TestBellLiveEventBrowser(t *testing.T) {
	browser := admintest.NewBrowser(t, admintest.Chromium(t))
	body, err := os.ReadFile(filepath.Join("..", "..", "examples", "bell", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(body)
	}))
	defer site.Close()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		a := newFx(t, env, "clinic")
		a.contact(t, "alice")
		a.want(t, http.StatusOK, "PUT", "/v1/notification-settings", "key", wire.NotificationSettings{AllowedOrigins: []string{site.URL}})
		a.want(t, http.StatusCreated, "PUT", "/v1/notification-types/visit.booked", "key",
			`{"channels":{"in_app":{"title":"{{.data.guest}} booked a visit","body":"Room {{.data.room}}"}}}`)
		tok := a.token(t, "alice")

		ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
		defer cancel()
		if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: openJS})
			return err
		})); err != nil {
			t.Fatal(err)
		}
		admintest.Step(t, ctx, "open the page",
			chromedp.Navigate(site.URL+"/?joist="+url.QueryEscape(env.URL)+"&token="+url.QueryEscape(tok)),
			chromedp.WaitVisible(chromedp.CSS(".jn-bell")))
		eval := func(js string) string {
			t.Helper()
			s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
			if err != nil {
				t.Fatalf("%s: %v", js, err)
			}
			return s
		}
		badge := func(want string) {
			t.Helper()
			testutil.Eventually(t, 15*time.Second, func() error {
				if got := eval(`(function(){var b=document.querySelector(".jn-badge");return !b||b.hidden?"(hidden)":b.textContent})()`); got != want {
					return fmt.Errorf("badge %q, want %q", got, want)
				}
				return nil
			})
		}
		// The stream is open before the event is posted: what comes next
		// comes through it.
		testutil.Eventually(t, 15*time.Second, func() error {
			if got := eval(`String(window.__streams)`); got != "1" {
				return fmt.Errorf("%s streams open", got)
			}
			return nil
		})
		badge("(hidden)")
		if c := a.counts(t, tok); c.Unread != 0 {
			t.Fatalf("counts before the event: %+v", c)
		}
		admintest.Step(t, ctx, "open the dropdown",
			chromedp.Click(chromedp.CSS(".jn-bell")),
			chromedp.WaitVisible(chromedp.CSS(".jn-empty")))
		eval(`(window.__mark = "same page", "")`)

		var ev wire.NotifyEvent
		a.want(t, http.StatusAccepted, "POST", "/v1/events", "key", map[string]any{"type": "visit.booked", "recipients": []string{"alice"},
			"data": map[string]any{"guest": "Ana", "room": "4"}}, "Idempotency-Key", "visit-1").json(t, &ev)
		badge("1")
		testutil.Eventually(t, 15*time.Second, func() error {
			if got := eval(`Array.from(document.querySelectorAll(".jn-item .jn-title")).map(e=>e.textContent).join("|")`); got != "Ana booked a visit" {
				return fmt.Errorf("dropdown: %q", got)
			}
			return nil
		})
		if got := eval(`String(window.__mark) + " " + window.__streams`); got != "same page 1" {
			t.Fatalf("the page reloaded or reconnected: %q", got)
		}
		admintest.Shot(t, ctx, "live")
		// It came through the fan-out: the event is done and its in_app
		// delivery recorded.
		c := newCaller(t, env, "clinic")
		eventDone(t, c, ev.ID)
		if d := byChannel(notificationsOf(t, c, ev.ID)[0])["in_app"]; d.Status != "delivered" {
			t.Fatalf("in_app delivery: %+v", d)
		}
	})
}
