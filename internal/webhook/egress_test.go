package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/config"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/signing"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/tenants"
	"github.com/joist-dev/joist/internal/testutil"
	"github.com/joist-dev/joist/internal/webhook"
)

// TestForwardURLCheckedWhenSaved: a forward_url the egress rules refuse
// (a metadata address; a host outside JOIST_PUSH_ALLOWED_HOSTS) is 400
// host_not_allowed naming the host when the source is saved, and nothing
// is stored.
func TestForwardURLCheckedWhenSaved(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn, _ := env.App.Tenants.Create(ctx, root, tenants.Input{Slug: "acme"})
		before := env.Count(t, "webhook_sources")
		for url, want := range map[string]string{
			"http://169.254.169.254/latest/meta-data/": `"169.254.169.254"`,
			"http://[::ffff:a9fe:a9fe]/":               `"::ffff:a9fe:a9fe"`,
			"http://hooks.elsewhere.example/in":        `host "hooks.elsewhere.example" is not in JOIST_PUSH_ALLOWED_HOSTS (127.0.0.1)`,
		} {
			_, _, err := env.App.Webhooks.PutSource(ctx, root, tn.ID, "github", webhook.SourceInput{Provider: "github",
				Secrets: []webhook.SecretInput{{Secret: ghSecret}}, ForwardURL: url})
			var ce *core.Error
			if !errors.As(err, &ce) || ce.Code != "host_not_allowed" || !strings.Contains(ce.Message, "forward_url") || !strings.Contains(ce.Message, want) {
				t.Errorf("forward_url %s: %v, want host_not_allowed naming %s", url, err, want)
			}
		}
		if n := env.Count(t, "webhook_sources"); n != before {
			t.Fatalf("%d sources stored by refused requests", n-before)
		}
		rcv := newApp(t)
		if _, _, err := env.App.Webhooks.PutSource(ctx, root, tn.ID, "github", webhook.SourceInput{Provider: "github",
			Secrets: []webhook.SecretInput{{Secret: ghSecret}}, ForwardURL: rcv.srv.URL + "/hooks"}); err != nil {
			t.Fatalf("forward_url on an allowed host: %v", err)
		}
	}, func(c *config.Config) { c.PushAllowedHosts = []string{"127.0.0.1"} })
}

// TestIngestStoresEventWhateverItsForwardBecame: a source saved while its
// forward_url was allowed, and an operator then setting
// JOIST_PUSH_ALLOWED_HOSTS without it: deliveries are still answered 200
// and stored, and the forward job says why it cannot deliver (dead,
// destination_refused, the refusal in its attempt); the app is not called.
func TestIngestStoresEventWhateverItsForwardBecame(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn, _ := env.App.Tenants.Create(ctx, root, tenants.Input{Slug: "acme"})
		rcv := newApp(t)
		src, _, err := env.App.Webhooks.PutSource(ctx, root, tn.ID, "github", webhook.SourceInput{Provider: "github",
			Secrets: []webhook.SecretInput{{Secret: ghSecret}}, ForwardURL: rcv.srv.URL + "/hooks"})
		if err != nil {
			t.Fatal(err)
		}
		env = env.Restart(t, func(c *config.Config) { c.PushAllowedHosts = []string{"app.internal"} })
		_ = src
		resp := githubDelivery(t, env.URL+"/in/acme/github", "delivery-1", `{"n":1}`, ghSecret)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("delivery answered %d; a forward destination must never fail an ingest", resp.StatusCode)
		}
		list, _, err := env.App.Webhooks.ListEvents(ctx, root, tn.ID, store.Page{Limit: 10}, webhook.EventFilter{})
		if err != nil || len(list) != 1 || list[0].ForwardJobID == "" {
			t.Fatalf("stored events: %v %+v", err, list)
		}
		var j jobs.Job
		testutil.Eventually(t, 30*time.Second, func() error {
			if j, err = env.App.Jobs.Get(ctx, root, tn.ID, list[0].ForwardJobID); err != nil {
				t.Fatal(err)
			}
			if j.State != "dead" {
				return fmt.Errorf("forward job is %s", j.State)
			}
			return nil
		})
		if j.DeadReason != jobs.DeadRefused || len(j.Attempts) != 1 || !strings.Contains(j.Attempts[0].Error, `host "127.0.0.1" is not in JOIST_PUSH_ALLOWED_HOSTS`) {
			t.Fatalf("forward job: reason %q, attempts %+v", j.DeadReason, j.Attempts)
		}
		if ev, err := env.App.Webhooks.GetEvent(ctx, root, tn.ID, list[0].ID); err != nil || ev.Status != "dead" {
			t.Fatalf("event: %v status %q, want dead (the dead-letter view)", err, ev.Status)
		}
		if rcv.count() != 0 {
			t.Fatal("the refused forward reached the app")
		}
		// Replaying it while the rules still refuse it says so at once.
		_, err = env.App.Webhooks.Replay(ctx, root, tn.ID, list[0].ID)
		var ce *core.Error
		if !errors.As(err, &ce) || ce.Code != "host_not_allowed" || !strings.Contains(ce.Message, "JOIST_PUSH_ALLOWED_HOSTS") {
			t.Fatalf("replay to a refused forward_url: %v", err)
		}
	})
}

// TestUnusualHeaderNamesStoredAndForwarded: legal header names with '.',
// '~' or '!' (as some proxies add) do not stop a verified delivery: it is
// stored with them and forwarded with them.
func TestUnusualHeaderNamesStoredAndForwarded(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn, _ := env.App.Tenants.Create(ctx, root, tenants.Input{Slug: "acme"})
		rcv := newApp(t)
		src, _, err := env.App.Webhooks.PutSource(ctx, root, tn.ID, "github", webhook.SourceInput{Provider: "github",
			Secrets: []webhook.SecretInput{{Secret: ghSecret}}, ForwardURL: rcv.srv.URL + "/hooks"})
		if err != nil {
			t.Fatal(err)
		}
		extra := map[string]string{"X.Trace": "dot", "X-Trace~v": "tilde", "X!Bang": "bang"}
		resp := githubDelivery(t, src.IngestURL, "delivery-1", `{"n":1}`, ghSecret, extra)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("delivery with unusual header names answered %d, want 200", resp.StatusCode)
		}
		list, _, err := env.App.Webhooks.ListEvents(ctx, root, tn.ID, store.Page{Limit: 10}, webhook.EventFilter{})
		if err != nil || len(list) != 1 {
			t.Fatalf("stored events: %v %d", err, len(list))
		}
		ev, err := env.App.Webhooks.GetEvent(ctx, root, tn.ID, list[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		var stored map[string]string
		if err := json.Unmarshal(ev.Headers, &stored); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 30*time.Second, func() error {
			if rcv.count() != 1 {
				return fmt.Errorf("%d forwards", rcv.count())
			}
			return nil
		})
		for k, v := range extra {
			if stored[http.CanonicalHeaderKey(k)] != v {
				t.Errorf("stored headers lack %s: %v", k, stored)
			}
			if got := rcv.got[0].Header.Get("Joist-Provider-" + k); got != v {
				t.Errorf("forward: Joist-Provider-%s = %q, want %q", k, got, v)
			}
		}
	})
}

// TestStandardWebhooksHeadersForwarded: a Standard Webhooks source's
// webhook-id, webhook-timestamp and webhook-signature reach the app like
// every other provider header (Joist-Provider-Webhook-*), beside joist's
// own signature, which the app verifies with the tenant's secret.
func TestStandardWebhooksHeadersForwarded(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn, _ := env.App.Tenants.Create(ctx, root, tenants.Input{Slug: "acme"})
		rcv := newApp(t)
		const swSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		src, _, err := env.App.Webhooks.PutSource(ctx, root, tn.ID, "sw", webhook.SourceInput{Provider: "standard_webhooks",
			Secrets: []webhook.SecretInput{{Secret: swSecret}}, ForwardURL: rcv.srv.URL + "/hooks"})
		if err != nil {
			t.Fatal(err)
		}
		body := []byte(`{"type":"user.created","data":{"id":1}}`)
		now := time.Now()
		req, _ := http.NewRequest("POST", src.IngestURL, strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		if err := signing.Sign(req.Header, []string{swSecret}, "msg_1", now, body); err != nil {
			t.Fatal(err)
		}
		providerSig := req.Header.Get("webhook-signature")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("delivery: %d", resp.StatusCode)
		}
		testutil.Eventually(t, 30*time.Second, func() error {
			if rcv.count() != 1 {
				return fmt.Errorf("%d forwards", rcv.count())
			}
			return nil
		})
		got := rcv.got[0].Header
		if got.Get("Joist-Provider-Webhook-Id") != "msg_1" || got.Get("Joist-Provider-Webhook-Timestamp") != strconv.FormatInt(now.Unix(), 10) ||
			got.Get("Joist-Provider-Webhook-Signature") != providerSig {
			t.Fatalf("the provider's webhook-* headers were not forwarded: %v", got)
		}
		secrets, err := env.App.Jobs.SigningSecrets(ctx, root, tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := signing.Verify(secrets[0].Secret, got, rcv.body[0], time.Now(), 5*time.Minute); err != nil || !strings.HasPrefix(got.Get("webhook-id"), "evt_") {
			t.Fatalf("joist's own signature: %v (webhook-id %q)", err, got.Get("webhook-id"))
		}
	})
}
