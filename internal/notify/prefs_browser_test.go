package notify_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/joist-dev/joist/internal/admin/admintest"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/wire"
)

// TestPrefsPageBrowser is the preferences page in a real browser, as a
// person who follows the link of an email: the critical type's boxes are
// ticked and locked; unticking one box and saving shows the confirmation
// with the box still unticked, and the contact's preferences hold the
// override (the browser's own form post, with its Origin, passes the
// page's guards). One Chromium serves both stores.
func TestPrefsPageBrowser(t *testing.T) {
	browser := admintest.NewBrowser(t, admintest.Chromium(t))
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		c, _ := prefsFixture(t, env, "acme")
		n := sendEvent(t, c, "booking.created")
		var em wire.Email
		c.do(t, "GET", "/v1/emails/"+byChannel(n)["email"].Target, nil).must(t, http.StatusOK, "email").json(t, &em)
		link := linkRE.FindString(em.Text)
		if link == "" {
			t.Fatalf("no link in %q", em.Text)
		}

		ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
		defer cancel()
		box := `input[name="type.push.booking.created"]`
		admintest.Step(t, ctx, "open the page",
			chromedp.Navigate(link),
			chromedp.WaitVisible(chromedp.CSS(box)))
		locked, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
			`[...document.querySelectorAll('input[disabled]')].length === 2 && [...document.querySelectorAll('input[disabled]')].every(b => b.checked)`))
		if err != nil || !locked {
			t.Fatalf("the critical type's boxes are not ticked and locked (%v)", err)
		}
		admintest.Step(t, ctx, "untick and save",
			chromedp.Click(chromedp.CSS(box)),
			chromedp.Click(chromedp.CSS(`button[type=submit]`)),
			chromedp.WaitVisible(chromedp.ID("notice")))
		if got := admintest.Text(t, ctx, "notice"); !strings.Contains(got, "Your preferences are saved.") {
			t.Fatalf("the confirmation: %q", got)
		}
		ticked, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('`+box+`').checked`))
		if err != nil || ticked {
			t.Fatalf("the box after saving: ticked %v (%v)", ticked, err)
		}
		p := prefsOf(t, c)
		if v, ok := p.Overrides.Types["booking.created"]["push"]; !ok || v || len(p.Overrides.Types) != 1 || len(p.Overrides.Groups) != 0 {
			t.Fatalf("overrides after the browser's save: %+v", p.Overrides)
		}
	})
}
