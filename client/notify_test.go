package client_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/joist-dev/joist/client"
	"github.com/joist-dev/joist/internal/apitest/openapicheck"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// TestNotifications runs a real joist and calls every notification
// method once, each exchange validated against /openapi.json.
func TestNotifications(t *testing.T) {
	ctx := context.Background()
	env := apptest.Start(t, store.SQLite)
	chk := openapicheck.New(t, apptest.OpenAPI(t))
	hc := &http.Client{Transport: chk.Transport(http.DefaultTransport), Timeout: 30 * time.Second}
	root := client.New(env.URL, env.RootKey, hc)
	must(root.CreateTenant(ctx, client.TenantCreate{Slug: "acme", Name: "Acme"}))
	key := must(root.CreateKey(ctx, "acme", "ci"))
	c := client.New(env.URL, key.Key, hc)
	typ, created, err := c.PutNotificationType(ctx, "booking.created", client.NotificationTypePut{
		Channels: wire.NotificationChannels{InApp: &wire.NotificationInApp{Title: "New booking by {{.data.guest}}"}, Push: &wire.NotificationPush{Title: "Booked"}},
		Defaults: map[string]bool{"push": false}, Group: "bookings"})
	if err != nil || !created || typ.Defaults["push"] || !typ.Defaults["in_app"] {
		t.Fatalf("put: %+v %v %v", typ, created, err)
	}
	if got := must(c.GetNotificationType(ctx, "booking.created")); got.Group != "bookings" {
		t.Fatalf("get: %+v", got)
	}
	if l := must(c.ListNotificationTypes(ctx, client.ListOptions{})); len(l.Data) != 1 {
		t.Fatalf("list: %+v", l)
	}
	recips := []json.RawMessage{json.RawMessage(`{"id":"ann","name":"Ann"}`), json.RawMessage(`"nobody"`)}
	ev, err := c.PostEvent(ctx, client.NotifyEventPost{Type: "booking.created", Recipients: recips, Data: json.RawMessage(`{"guest":"Bo"}`)},
		client.IdempotencyKey("ev-1"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the fan-out", func() bool { return must(c.GetEvent(ctx, ev.ID)).Status == "done" })
	got := must(c.GetEvent(ctx, ev.ID))
	if got.Notified != 1 || got.Skipped != 1 || got.Skips[0].Reason != "unknown_contact" {
		t.Fatalf("event: %+v", got)
	}
	if l := must(c.ListEvents(ctx, "booking.created", client.ListOptions{})); len(l.Data) != 1 {
		t.Fatalf("events: %+v", l)
	}
	ns := must(c.ListEventNotifications(ctx, ev.ID, client.ListOptions{}))
	if len(ns.Data) != 1 || ns.Data[0].Title != "New booking by Bo" || ns.Data[0].Contact != "ann" || len(ns.Data[0].Deliveries) != 2 {
		t.Fatalf("notifications: %+v", ns)
	}
	p, err := c.PutPreferences(ctx, "ann", client.NotificationPreferencesPut{Types: map[string]map[string]bool{"booking.created": {"push": true}}})
	if err != nil || len(p.Effective) != 2 {
		t.Fatalf("put preferences: %+v %v", p, err)
	}
	if p := must(c.GetPreferences(ctx, "ann")); !p.Overrides.Types["booking.created"]["push"] {
		t.Fatalf("preferences: %+v", p)
	}
	_, err = c.GetPreferences(ctx, "nobody")
	wantStatus(t, err, http.StatusNotFound)
	if err := c.DeleteNotificationType(ctx, "booking.created"); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetNotificationType(ctx, "booking.created")
	wantStatus(t, err, http.StatusNotFound)
}
