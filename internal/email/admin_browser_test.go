package email_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"

	"github.com/chromedp/chromedp"

	"github.com/joist-dev/joist/internal/admin/admintest"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/email"
	"github.com/joist-dev/joist/internal/testutil"
)

// TestEmailsBrowser is the outbox in a real browser: from the tenant page
// to the email log, the outbox tab, then a hostile email: its subject is
// text, its HTML is rendered inside a frame sandboxed with no permission,
// where its script did not run. One Chromium
// serves both stores, each in its own browser context.
func TestEmailsBrowser(t *testing.T) {
	browser := admintest.NewBrowser(t, admintest.Chromium(t))
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		tn := admintest.MkTenant(t, env, "acme")
		admintest.MkContact(t, env, tn.ID, "ana", "ana@guest.example", "Ana")
		plain := sendCaptured(t, env, tn.ID, email.Input{To: []string{"bob@x.example"}, Subject: "Digest", Text: "1 new"})
		hostile := sendCaptured(t, env, tn.ID, email.Input{Contact: "ana", Subject: hostileSubject, HTML: hostileHTML, Text: "plain words"})

		ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
		defer cancel()
		admintest.LoginAs(t, ctx, env, "/admin/tenants/acme", "tenant-emails")

		admintest.Step(t, ctx, "email log",
			chromedp.Click(chromedp.ID("tenant-emails")),
			chromedp.WaitVisible(chromedp.ID("emails")))
		if got := admintest.Text(t, ctx, "emails"); !strings.Contains(got, plain.ID) || !strings.Contains(got, hostile.ID) ||
			!strings.Contains(got, `Hi <img src=x onerror=`) {
			t.Fatalf("the log:\n%s", got)
		}
		admintest.Step(t, ctx, "outbox",
			chromedp.Click(chromedp.ID("status-captured")),
			chromedp.WaitVisible(chromedp.ID("outbox-note")))
		if got := admintest.Text(t, ctx, "emails"); !strings.Contains(got, plain.ID) || !strings.Contains(got, "captured") {
			t.Fatalf("the outbox:\n%s", got)
		}

		admintest.Step(t, ctx, "hostile email",
			chromedp.Click(chromedp.CSS(`#emails a[href$="/emails/`+hostile.ID+`"]`)),
			chromedp.WaitVisible(chromedp.ID("email-html")))
		if got := admintest.Text(t, ctx, "email-subject"); got != hostileSubject {
			t.Fatalf("the subject shows as %q, want its text", got)
		}
		if got := admintest.Text(t, ctx, "email-text"); got != "plain words" {
			t.Fatalf("the text part: %q", got)
		}
		attrs, err := chromedp.Run(ctx, chromedp.Attributes(chromedp.ID("email-html")))
		if err != nil {
			t.Fatal(err)
		}
		if sb, ok := attrs["sandbox"]; !ok || sb != "" {
			t.Fatalf("the frame's sandbox is %q (set: %v), want an empty token list: no scripts, no same origin", sb, ok)
		}

		// The frame shows the message, as a document of its own: Chromium
		// runs a sandboxed frame in a process of its own, a target to attach to.
		frame := frameContext(t, ctx)
		if got, err := chromedp.Run(frame, chromedp.Text(chromedp.ID("hello"))); err != nil || got != "Hello from the frame" {
			t.Fatalf("the frame shows %q (%v)", got, err)
		}
		// It has no origin of its own (sandboxed without allow-same-origin):
		// it cannot read the dashboard's cookies or pages.
		if origin, err := chromedp.Run(frame, chromedp.Evaluate[string]("window.origin")); err != nil || origin != "null" {
			t.Fatalf("the frame's origin is %q (%v), want null", origin, err)
		}
		// Its script did not run: neither this page's title nor its own changed.
		if title, err := chromedp.Run(ctx, chromedp.Title()); err != nil || strings.Contains(title, "pwned") {
			t.Fatalf("the page's title is %q (%v)", title, err)
		}
		titles, err := chromedp.Run(frame, chromedp.Nodes(chromedp.CSS("title"), chromedp.AtLeast(0)))
		if err != nil || len(titles) != 0 {
			t.Fatalf("the frame's script ran: it has %d title elements (%v)", len(titles), err)
		}
	})
}

// frameContext attaches to the page's one srcdoc frame, found among the
// browser's targets (a sandboxed frame runs in its own process).
func frameContext(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	page := chromedp.FromContext(ctx).Target.TargetID
	var id target.ID
	testutil.Eventually(t, 10*time.Second, func() error {
		infos, err := chromedp.Targets(ctx)
		if err != nil {
			return err
		}
		for _, in := range infos {
			if in.Type == "iframe" && in.ParentID == page && in.URL == "about:srcdoc" {
				id = in.TargetID
				return nil
			}
		}
		return fmt.Errorf("no srcdoc frame among %d targets", len(infos))
	})
	fctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(id))
	t.Cleanup(cancel)
	return fctx
}
