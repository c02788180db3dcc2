package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/contacts"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/tenants"
	"github.com/joist-dev/joist/internal/webhook"
)

// TestHostileDeliveries: an authentic delivery whose event id holds a NUL
// byte or invalid UTF-8 cannot be deduplicated, so it is refused (400
// invalid_event_id) and kept in the rejections log; an event type or
// contact id that is not text is stored safely or ignored, and the raw
// body is kept byte for byte. The same on both stores, with no ERROR line.
func TestHostileDeliveries(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn, _ := env.App.Tenants.Create(ctx, root, tenants.Input{Slug: "acme"})
		if _, _, err := env.App.Contacts.Upsert(ctx, root, tn.ID, "u1", contacts.Input{}); err != nil {
			t.Fatal(err)
		}
		src, _, err := env.App.Webhooks.PutSource(ctx, root, tn.ID, "app", webhook.SourceInput{Provider: "hmac", Header: "X-Sig",
			Secrets: []webhook.SecretInput{{Secret: ghSecret}}, IDPointer: "/id", TypePointer: "/type", ContactPointer: "/user"})
		if err != nil {
			t.Fatal(err)
		}
		send := func(body string) (int, string) {
			m := hmac.New(sha256.New, []byte(ghSecret))
			m.Write([]byte(body))
			req, _ := http.NewRequest("POST", src.IngestURL, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Sig", hex.EncodeToString(m.Sum(nil)))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var p struct{ Code string }
			_ = json.NewDecoder(resp.Body).Decode(&p)
			return resp.StatusCode, p.Code
		}
		for _, body := range []string{`{"id":"e\u00001"}`, "{\"id\":\"e\xff2\"}"} {
			if st, code := send(body); st != http.StatusBadRequest || code != "invalid_event_id" {
				t.Fatalf("event id not text (%q): %d %s, want 400 invalid_event_id", body, st, code)
			}
		}
		rej, err := env.App.Webhooks.Rejections(ctx, root, tn.ID, "app")
		if err != nil || len(rej) != 2 || rej[0].Code != "invalid_event_id" || !store.ValidText(rej[0].Detail) {
			t.Fatalf("rejections: %v %+v", err, rej)
		}
		if n := env.Count(t, "webhook_events"); n != 0 {
			t.Fatalf("%d events stored from deliveries that cannot be deduplicated", n)
		}

		// A type and a contact id that are not text: stored safely, ignored.
		body := "{\"id\":\"e3\",\"type\":\"booking\\u0000created\xff\",\"user\":\"u\\u00001\",\"blob\":\"\xfe\"}"
		if st, code := send(body); st != http.StatusOK {
			t.Fatalf("delivery with a hostile type: %d %s", st, code)
		}
		list, _, err := env.App.Webhooks.ListEvents(ctx, root, tn.ID, store.Page{}, webhook.EventFilter{ProviderEventID: "e3"})
		if err != nil || len(list) != 1 {
			t.Fatalf("stored event: %v %d", err, len(list))
		}
		ev, err := env.App.Webhooks.GetEvent(ctx, root, tn.ID, list[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if !store.ValidText(ev.EventType) || !strings.HasPrefix(ev.EventType, "booking\uFFFDcreated\uFFFD") || !strings.Contains(ev.EventType, "replaced 2 byte(s)") {
			t.Fatalf("event type stored as %q", ev.EventType)
		}
		if string(ev.Body) != body {
			t.Fatalf("body not kept byte for byte: %q", ev.Body)
		}
		if lines := env.ErrorLines(); len(lines) > 0 {
			t.Fatalf("ERROR lines:\n%s", strings.Join(lines, "\n"))
		}
	})
}
