package webhooktest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/admin/admintest"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/testutil"
	"github.com/joist-dev/joist/internal/webhook"
)

// Secret is the signing secret of the sources MkSource creates.
const Secret = "a github secret for the admin tests"

// Receiver is the app's endpoint that events are forwarded to: it answers
// with the status last set and keeps the webhook-id of every request.
type Receiver struct {
	URL    string
	Status atomic.Int32 // the status of the next answers
	mu     sync.Mutex
	ids    []string
}

// NewReceiver starts a Receiver answering status, closed when the test ends.
func NewReceiver(t *testing.T, status int) *Receiver {
	t.Helper()
	rc := &Receiver{}
	rc.Status.Store(int32(status))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.mu.Lock()
		rc.ids = append(rc.ids, r.Header.Get("webhook-id"))
		rc.mu.Unlock()
		st := int(rc.Status.Load())
		w.WriteHeader(st)
		_, _ = w.Write([]byte("receiver says " + http.StatusText(st)))
	}))
	t.Cleanup(srv.Close)
	rc.URL = srv.URL
	return rc
}

// WebhookIDs are the webhook-ids the receiver got, in order.
func (rc *Receiver) WebhookIDs() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.ids)
}

// MkSource creates a github source forwarding to forward ("" for none).
func MkSource(t *testing.T, env *apptest.Env, tenantID, name, forward string) webhook.Source {
	t.Helper()
	src, _, err := env.App.Webhooks.PutSource(context.Background(), admintest.CLI(), tenantID, name, webhook.SourceInput{Provider: "github",
		Secrets: []webhook.SecretInput{{Secret: Secret}}, ForwardURL: forward})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// Deliver posts a GitHub delivery signed with secret and returns the status.
func Deliver(t *testing.T, env *apptest.Env, slug, source, delivery, body, secret string) int {
	t.Helper()
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	req, err := http.NewRequest(http.MethodPost, env.URL+"/in/"+slug+"/"+source, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Delivery", delivery)
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// MkEvent delivers a signed event and waits (bounded) until its status is
// want; it returns the stored event.
func MkEvent(t *testing.T, env *apptest.Env, tn store.Tenant, source, delivery, body, want string) webhook.Event {
	t.Helper()
	if st := Deliver(t, env, tn.Slug, source, delivery, body, Secret); st != http.StatusOK {
		t.Fatalf("delivery %s: status %d", delivery, st)
	}
	list, _, err := env.App.Webhooks.ListEvents(context.Background(), admintest.CLI(), tn.ID, store.Page{Limit: 10},
		webhook.EventFilter{ProviderEventID: delivery})
	if err != nil || len(list) != 1 {
		t.Fatalf("event of delivery %s: %v (%d found)", delivery, err, len(list))
	}
	return WaitEvent(t, env, tn.ID, list[0].ID, want)
}

// WaitEvent polls an event until its status is want, for at most 30 seconds.
func WaitEvent(t *testing.T, env *apptest.Env, tenantID, id, want string) webhook.Event {
	t.Helper()
	var ev webhook.Event
	testutil.Eventually(t, 30*time.Second, func() error {
		var err error
		if ev, err = env.App.Webhooks.GetEvent(context.Background(), admintest.CLI(), tenantID, id); err != nil {
			t.Fatal(err)
		}
		if ev.Status != want {
			return fmt.Errorf("event %s is %s, want %s", id, ev.Status, want)
		}
		return nil
	})
	return ev
}
