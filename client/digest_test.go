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

// TestDigests: an event of a digest type records its push as digested;
// GetDigest shows the open digest with the notification, validated
// against /openapi.json; an unknown digest is 404.
func TestDigests(t *testing.T) {
	ctx := context.Background()
	env := apptest.Start(t, store.SQLite)
	chk := openapicheck.New(t, apptest.OpenAPI(t))
	hc := &http.Client{Transport: chk.Transport(http.DefaultTransport), Timeout: 30 * time.Second}
	root := client.New(env.URL, env.RootKey, hc)
	must(root.CreateTenant(ctx, client.TenantCreate{Slug: "acme", Name: "Acme"}))
	key := must(root.CreateKey(ctx, "acme", "ci"))
	c := client.New(env.URL, key.Key, hc)
	if _, _, err := c.PutNotificationType(ctx, "booking.created", client.NotificationTypePut{
		Channels: wire.NotificationChannels{InApp: &wire.NotificationInApp{Title: "New booking by {{.data.guest}}"}, Push: &wire.NotificationPush{Title: "Booked"}},
		Digest:   &wire.NotificationDigest{Window: "10m", Key: "{{.data.property}}"}}); err != nil {
		t.Fatal(err)
	}
	ev, err := c.PostEvent(ctx, client.NotifyEventPost{Type: "booking.created", Recipients: []json.RawMessage{json.RawMessage(`{"id":"ann"}`)},
		Data: json.RawMessage(`{"guest":"Bo","property":"p1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the fan-out", func() bool { return must(c.GetEvent(ctx, ev.ID)).Status == "done" })
	ns := must(c.ListEventNotifications(ctx, ev.ID, client.ListOptions{}))
	var id string
	for _, d := range ns.Data[0].Deliveries {
		if d.Channel == "push" && d.Reason == "digested" {
			id = d.Target
		}
	}
	d := must(c.GetDigest(ctx, id))
	if d.Status != "open" || d.Count != 1 || d.Key != "p1" || d.Contact != "ann" || len(d.Notifications) != 1 || d.Notifications[0].Title != "New booking by Bo" {
		t.Fatalf("digest: %+v", d)
	}
	_, err = c.GetDigest(ctx, "ndg_nope")
	wantStatus(t, err, http.StatusNotFound)
}
