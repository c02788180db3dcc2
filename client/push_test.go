package client_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/joist-dev/joist/client"
	"github.com/joist-dev/joist/internal/apitest/openapicheck"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/store"
)

// TestPushDevices calls each push method once against a real joist, each
// exchange validated against /openapi.json.
func TestPushDevices(t *testing.T) {
	ctx := context.Background()
	env := apptest.Start(t, store.SQLite)
	chk := openapicheck.New(t, apptest.OpenAPI(t))
	hc := &http.Client{Transport: chk.Transport(http.DefaultTransport), Timeout: 30 * time.Second}
	root := client.New(env.URL, env.RootKey, hc)
	must(root.CreateTenant(ctx, client.TenantCreate{Slug: "acme", Name: "Acme"}))
	key := must(root.CreateKey(ctx, "acme", "ci"))
	c := client.New(env.URL, key.Key, hc)
	if _, _, err := c.UpsertContact(ctx, "ana", client.ContactUpsert{Email: client.String("ana@example.com")}); err != nil {
		t.Fatal(err)
	}
	pub, err := c.VAPIDPublicKey(ctx)
	if err != nil || len(pub) != 87 {
		t.Fatalf("vapid key %q: %v", pub, err)
	}
	tok := strings.Repeat("0a", 32)
	d, created, err := c.RegisterDevice(ctx, "ana", client.DeviceInput{Platform: "apns", Token: tok})
	if err != nil || !created || d.Platform != "apns" || d.Token != tok {
		t.Fatalf("register: %+v %v %v", d, created, err)
	}
	if _, created, err := c.RegisterDevice(ctx, "ana", client.DeviceInput{Platform: "apns", Token: tok}); err != nil || created {
		t.Fatalf("register again: %v %v", created, err)
	}
	l, err := c.ListDevices(ctx, "ana")
	if err != nil || len(l.Data) != 1 || l.Data[0].ID != d.ID {
		t.Fatalf("list: %+v %v", l, err)
	}
	if err := c.DeleteDevice(ctx, "ana", client.DeviceInput{Platform: "apns", Token: tok}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, c.DeleteDevice(ctx, "ana", client.DeviceInput{Platform: "apns", Token: tok}), http.StatusNotFound)
	_, _, err = c.RegisterDevice(ctx, "ana", client.DeviceInput{Platform: "sms", Token: "x"})
	wantStatus(t, err, http.StatusBadRequest)
}
