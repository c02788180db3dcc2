package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/joist-dev/joist/client"
	"github.com/joist-dev/joist/internal/admin/admintest"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/email"
	"github.com/joist-dev/joist/internal/notify"
	"github.com/joist-dev/joist/internal/signing"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/testutil"
	"github.com/joist-dev/joist/wire"
)

// overflowJS lists what does not fit in the list tables of the page: a
// table wider than the page, a cell or element whose content is clipped or
// scrolls (ids shortened on purpose by their .id-head excepted), an id
// link or a short name (an action, a job kind) wrapped over lines, a URL's
// host broken over lines.
const overflowJS = `(() => {
  const bad = [];
  const main = document.querySelector("main").getBoundingClientRect();
  const text = el => el.innerText.replace(/\s+/g, " ").slice(0, 80);
  document.querySelectorAll("table.list").forEach(tb => {
    const r = tb.getBoundingClientRect();
    const box = tb.parentElement;
    if (r.right > main.right + 1 || box.scrollWidth > box.clientWidth + 1) bad.push("#" + tb.id + " is " + Math.round(r.width) + "px wide, wider than the page");
    tb.querySelectorAll("td, td *").forEach(el => {
      if (el.closest(".id-head")) return;
      if (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1) {
        if (el.clientWidth > 0) bad.push("#" + tb.id + ": clipped " + el.tagName + ": " + text(el));
      }
    });
    tb.querySelectorAll('td a[href*="/jobs/job_"], td a[href*="/events/evt_"], td .id, td code.action').forEach(el => {
      const lh = parseFloat(getComputedStyle(el).fontSize) * 1.45;
      if (el.getBoundingClientRect().height > 1.6 * lh) bad.push("#" + tb.id + ": id or short name over lines: " + text(el));
    });
    tb.querySelectorAll("td code").forEach(el => {
      const m = el.textContent.match(/https?:\/\/[^\/\s]+/);
      if (!m || !el.firstChild) return;
      const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      let node, at = 0, start = el.textContent.indexOf(m[0]);
      const range = document.createRange();
      let begun = false;
      while ((node = walker.nextNode())) {
        const len = node.textContent.length;
        if (!begun && start < at + len) { range.setStart(node, start - at); begun = true; }
        if (begun && start + m[0].length <= at + len) { range.setEnd(node, start + m[0].length - at); break; }
        at += len;
      }
      const lines = new Set(Array.from(range.getClientRects()).filter(q => q.width > 0).map(q => Math.round(q.top)));
      if (lines.size > 1) bad.push("#" + tb.id + ": host broken over lines: " + m[0]);
    });
  });
  return bad;
})()`

// TestListPagesFitAt1280: every list page of the admin, filled with long
// ids, URLs, correlation ids and audit details, fits a 1280 px wide window:
// no cell overflows its table or clips its content, ids stay on one line
// (shortened, with a copy button), hosts are not broken. Notification data
// (long type, group, template and contact names, an unknown long recipient,
// a phone's long token, a feed secret) is there too: its pages fit, and so
// do the jobs (fan-out, push, digest jobs) and audit pages it fills.
func TestListPagesFitAt1280(t *testing.T) {
	path := admintest.Chromium(t)
	env := apptest.Start(t, store.SQLite)
	ctx := context.Background()
	root := client.New(env.URL, env.RootKey)
	tn := admintest.MkTenant(t, env, "acme")
	admintest.MkContact(t, env, tn.ID, "user-42-with-a-rather-long-external-id", "grace.hopper@a-long-domain-name.example", "Grace Hopper")
	if _, err := root.CreateKey(ctx, tn.ID, ""); err != nil {
		t.Fatal(err)
	}
	c := root.Tenant("acme")
	tg := admintest.NewTarget(t)
	tg.Status.Store(http.StatusInternalServerError)
	longURL := tg.URL + "/hooks/very-long-path-segment/reminders/booking-confirmation?tenant=acme&locale=fr-FR&attempt=first"
	corr := client.CorrelationID("booking-2026-01-01-confirmation-0123456789abcdef")
	var jobIDs []string
	for range 3 {
		j, _, err := c.CreateJob(ctx, client.JobCreate{URL: longURL, MaxAttempts: 1}, corr)
		if err != nil {
			t.Fatal(err)
		}
		jobIDs = append(jobIDs, j.ID)
	}
	testutil.Eventually(t, 30*time.Second, func() error {
		j, err := c.GetJob(ctx, jobIDs[2])
		if err != nil || j.State != "dead" {
			return fmt.Errorf("job %v %v", j, err)
		}
		return nil
	})
	if _, _, err := c.PutSchedule(ctx, "nightly-report-for-every-clinic", client.SchedulePut{Cron: "15 4 * * *", Job: client.ScheduleJob{URL: longURL}}, corr); err != nil {
		t.Fatal(err)
	}
	secret := signing.NewSecret()
	if _, _, err := c.PutWebhookSource(ctx, "app-events", client.WebhookSourcePut{Provider: "standard_webhooks",
		Secrets: []client.WebhookSecret{{Secret: secret}}, ForwardURL: longURL}, corr); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		body := []byte(fmt.Sprintf(`{"type":"booking.confirmed","n":%d}`, i))
		req, _ := http.NewRequest(http.MethodPost, env.URL+"/in/acme/app-events", bytes.NewReader(body))
		if err := signing.Sign(req.Header, []string{secret}, fmt.Sprintf("msg_2b9f1c3e4d5a6b7c8d9e0f1a2b3c4d5e_%d", i), time.Now(), body); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode >= 300 {
			t.Fatalf("ingest: %v %v", err, resp)
		}
		resp.Body.Close()
	}

	for i := range 3 {
		if _, err := env.App.Email.Send(ctx, admintest.CLI(), tn.ID, "", email.Input{
			From:    "Booking confirmations <booking-confirmations@notifications.a-long-domain-name.example>",
			Contact: "user-42-with-a-rather-long-external-id", Cc: []string{"front-desk-of-the-clinic@a-long-domain-name.example"},
			Subject: fmt.Sprintf("Your booking 2026-01-01-confirmation-0123456789abcdef is confirmed for Monday morning (%d)", i),
			Text:    "See you", Tags: []string{"booking-confirmation", "transactional-reminder"}}); err != nil {
			t.Fatal(err)
		}
	}

	// An email whose recipient is suppressed: the log shows it "suppressed".
	if _, err := env.App.Email.PutSuppression(ctx, admintest.CLI(), tn.ID, "front-desk-of-the-clinic-2@a-long-domain-name.example",
		email.SuppressionInput{Reason: "moved"}); err != nil {
		t.Fatal(err)
	}
	sup, err := env.App.Email.Send(ctx, admintest.CLI(), tn.ID, "", email.Input{
		From: "Booking confirmations <booking-confirmations@notifications.a-long-domain-name.example>",
		To:   []string{"front-desk-of-the-clinic-2@a-long-domain-name.example"}, Cc: []string{"front-desk-of-the-clinic@a-long-domain-name.example"},
		Subject: "Your booking 2026-01-01-confirmation-0123456789abcdef is confirmed for Monday morning (suppressed)",
		Text:    "See you", Tags: []string{"booking-confirmation", "transactional-reminder"}})
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, func() error {
		d, err := env.App.Email.Get(ctx, admintest.CLI(), tn.ID, sup.ID)
		if err == nil && d.Status != "suppressed" {
			err = fmt.Errorf("email %s is %s, want suppressed", sup.ID, d.Status)
		}
		return err
	})
	if _, err := env.App.Email.PutSuppression(ctx, admintest.CLI(), tn.ID, "a-former-patient-who-moved-away@a-long-domain-name.example",
		email.SuppressionInput{Reason: "The clinic asked us by phone to stop every reminder until the new front desk is staffed",
			ExpiresAt: new(time.Now().Add(30 * 24 * time.Hour))}); err != nil {
		t.Fatal(err)
	}

	events := mkNotifyData(t, env, tn.ID, "user-42-with-a-rather-long-external-id")

	browser := admintest.NewBrowser(t, path)
	admintest.LoginAs(t, browser, env, "/admin/tenants", "tenants")
	width, err := chromedp.Run(browser, chromedp.Evaluate[int](`window.innerWidth`))
	if err != nil || width != 1280 {
		t.Fatalf("window is %d px wide (%v), want 1280", width, err)
	}
	for _, page := range []struct{ path, table string }{
		{"/admin/tenants", "tenants"},
		{"/admin/tenants/acme", "keys"},
		{"/admin/tenants/acme/contacts", "contacts"},
		{"/admin/operators", "operators"},
		{"/admin/audit", "audit"},
		{"/admin/tenants/acme/jobs", "jobs"},
		{"/admin/tenants/acme/schedules", "schedules"},
		{"/admin/tenants/acme/webhooks", "sources"},
		{"/admin/tenants/acme/webhooks/events", "events"},
		{"/admin/tenants/acme/emails", "emails"},
		{"/admin/tenants/acme/emails/suppressions", "suppressions"},
		{"/admin/tenants/acme/notifications", "events"},
		{"/admin/tenants/acme/notifications/events/" + events[0], "event-notifications"},
		{"/admin/tenants/acme/notifications/types", "notification-types"},
		{"/admin/tenants/acme/contacts/user-42-with-a-rather-long-external-id", "contact-notification-list"},
	} {
		admintest.Step(t, browser, page.path,
			chromedp.Navigate(env.URL+page.path),
			chromedp.WaitVisible(chromedp.ID(page.table)))
		png, err := chromedp.Run(browser, chromedp.FullScreenshot(90))
		if err != nil || len(png) == 0 {
			t.Fatalf("screenshot of %s: %v", page.path, err)
		}
		bad, err := chromedp.Run(browser, chromedp.Evaluate[[]string](overflowJS))
		if err != nil {
			t.Fatalf("%s: %v", page.path, err)
		}
		if len(bad) > 0 {
			t.Errorf("%s at 1280 px:\n  %s", page.path, strings.Join(bad, "\n  "))
		}
	}
	// The audit log shows details as key/value pairs, and a shortened id
	// is still whole for search and copy.
	admintest.Step(t, browser, "audit again", chromedp.Navigate(env.URL+"/admin/audit"), chromedp.WaitVisible(chromedp.ID("audit")))
	if got := admintest.Text(t, browser, "audit"); !strings.Contains(got, "after.name") || !strings.Contains(got, "unnamed key jk_") {
		t.Errorf("audit details are not key/value pairs:\n%s", got)
	}
}

// mkNotifyData fills the tenant with notification data: a push device with
// a phone's long token, a template, a type with every channel and a digest,
// three events to contact and to an unknown long recipient (fan-out, push
// and digest jobs), a rotated feed secret and a contact token (audited).
// It answers the events' ids once they are done.
func mkNotifyData(t *testing.T, env *apptest.Env, tenantID, contact string) []string {
	t.Helper()
	ctx := context.Background()
	cli := admintest.CLI()
	if _, _, err := env.App.Push.DeviceRegister(ctx, cli, tenantID, contact, wire.DeviceInput{Platform: "fcm",
		Token: strings.Repeat("fcm-registration-token-", 8)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.App.Email.TemplatePut(ctx, cli, tenantID, "booking-confirmation-reminder", wire.EmailTemplatePut{
		DefaultLocale: "en", Variants: map[string]wire.EmailTemplateVariant{"en": {Subject: "Booking {{.data.id}}", Text: "See you"}}}); err != nil {
		t.Fatal(err)
	}
	const typ = "booking.confirmation.reminder-for-the-front-desk"
	if _, _, err := env.App.Notify.TypePut(ctx, cli, tenantID, typ, wire.NotificationTypePut{
		Channels: wire.NotificationChannels{InApp: &wire.NotificationInApp{Title: "Booking {{.data.id}} is confirmed for Monday morning at the clinic"},
			Email: &wire.NotificationEmail{Template: "booking-confirmation-reminder", From: "booking-confirmations@notifications.a-long-domain-name.example"},
			Push:  &wire.NotificationPush{Title: "Booking {{.data.id}} is confirmed"}},
		Group: "booking-confirmations-and-reminders", Digest: &wire.NotificationDigest{Window: "10m", Key: "{{.data.property_id}}-{{.data.id}}"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.Feed.RotateFeedSecret(ctx, cli, tenantID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.App.Feed.MintToken(ctx, cli, tenantID, contact, 0); err != nil {
		t.Fatal(err)
	}
	var events []string
	for i := range 3 {
		ev, err := env.App.Notify.Post(ctx, cli, tenantID, "", notify.EventInput{Type: typ,
			Recipients: []json.RawMessage{json.RawMessage(`"` + contact + `"`), json.RawMessage(`"an-unknown-user-with-a-long-external-id-0123456789"`)},
			Data:       json.RawMessage(fmt.Sprintf(`{"id":"2026-01-01-confirmation-0123456789abcdef-%d","property_id":"p"}`, i))})
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, ev.ID)
	}
	for _, id := range events {
		testutil.Eventually(t, 30*time.Second, func() error {
			d, err := env.App.Notify.EventGet(ctx, cli, tenantID, id)
			if err == nil && d.Status != notify.EventDone {
				err = fmt.Errorf("event %s is %s", id, d.Status)
			}
			return err
		})
	}
	return events
}
