package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/joist-dev/joist/internal/admin/admintest"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/notify"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/testutil"
	"github.com/joist-dev/joist/wire"
)

// TestNotifyPagesFitAt1280: the notification pages (events, an event's
// fan-out, types, the contact's card), filled with long type, group,
// template and contact names, a long correlation id, an unknown long
// recipient, a phone's long token, fit a 1280 px wide window by the same
// rules as TestListPagesFitAt1280.
func TestNotifyPagesFitAt1280(t *testing.T) {
	path := admintest.Chromium(t)
	env := apptest.Start(t, store.SQLite)
	ctx := context.Background()
	cli := admintest.CLI()
	tn := admintest.MkTenant(t, env, "acme")
	const contact = "user-42-with-a-rather-long-external-id"
	admintest.MkContact(t, env, tn.ID, contact, "grace.hopper@a-long-domain-name.example", "Grace Hopper")
	if _, _, err := env.App.Push.DeviceRegister(ctx, cli, tn.ID, contact, wire.DeviceInput{Platform: "fcm",
		Token: strings.Repeat("fcm-registration-token-", 8)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.App.Email.TemplatePut(ctx, cli, tn.ID, "booking-confirmation-reminder", wire.EmailTemplatePut{
		DefaultLocale: "en", Variants: map[string]wire.EmailTemplateVariant{"en": {Subject: "Booking {{.data.id}}", Text: "See you"}}}); err != nil {
		t.Fatal(err)
	}
	const typ = "booking.confirmation.reminder-for-the-front-desk"
	if _, _, err := env.App.Notify.TypePut(ctx, cli, tn.ID, typ, wire.NotificationTypePut{
		Channels: wire.NotificationChannels{InApp: &wire.NotificationInApp{Title: "Booking {{.data.id}} is confirmed for Monday morning at the clinic"},
			Email: &wire.NotificationEmail{Template: "booking-confirmation-reminder", From: "booking-confirmations@notifications.a-long-domain-name.example"},
			Push:  &wire.NotificationPush{Title: "Booking {{.data.id}} is confirmed"}},
		Group: "booking-confirmations-and-reminders", Digest: &wire.NotificationDigest{Window: "10m", Key: "{{.data.property_id}}-{{.data.id}}"}}); err != nil {
		t.Fatal(err)
	}
	var events []string
	for i := range 3 {
		ev, err := env.App.Notify.Post(ctx, cli, tn.ID, "", notify.EventInput{Type: typ,
			Recipients: []json.RawMessage{json.RawMessage(`"` + contact + `"`), json.RawMessage(`"an-unknown-user-with-a-long-external-id-0123456789"`)},
			Data:       json.RawMessage(fmt.Sprintf(`{"id":"2026-01-01-confirmation-0123456789abcdef-%d","property_id":"p"}`, i))})
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, ev.ID)
	}
	for _, id := range events {
		testutil.Eventually(t, 30*time.Second, func() error {
			d, err := env.App.Notify.EventGet(ctx, cli, tn.ID, id)
			if err == nil && d.Status != notify.EventDone {
				err = fmt.Errorf("event %s is %s", id, d.Status)
			}
			return err
		})
	}

	browser := admintest.NewBrowser(t, path)
	admintest.LoginAs(t, browser, env, "/admin/tenants", "tenants")
	for _, page := range []struct{ path, table string }{
		{"/admin/tenants/acme/notifications", "events"},
		{"/admin/tenants/acme/notifications/events/" + events[0], "event-notifications"},
		{"/admin/tenants/acme/notifications/types", "notification-types"},
		{"/admin/tenants/acme/contacts/" + contact, "contact-notification-list"},
	} {
		admintest.Step(t, browser, page.path,
			chromedp.Navigate(env.URL+page.path),
			chromedp.WaitVisible(chromedp.ID(page.table)))
		bad, err := chromedp.Run(browser, chromedp.Evaluate[[]string](overflowJS))
		if err != nil {
			t.Fatalf("%s: %v", page.path, err)
		}
		if len(bad) > 0 {
			t.Errorf("%s at 1280 px:\n  %s", page.path, strings.Join(bad, "\n  "))
		}
	}
}
