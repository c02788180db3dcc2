package email_test

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// TestSendIdempotencyInOneCommit: POST /v1/emails keeps its
// Idempotency-Key record in the transaction that stores the email, and
// the key behaves as on every creating POST: the same key and body replay
// the first response byte for byte, another body is 409, a failed request
// keeps nothing (its key is free for the corrected request), concurrent
// retries of one key make one email and all answer it, and the email's own
// key outlives the HTTP record.
func TestSendIdempotencyInOneCommit(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		newTenant(t, env, "acme")
		c := newCaller(t, env, "acme")
		body := `{"from":"hello@acme.example","to":"ana@x.example","subject":"Receipt","text":"Thanks"}`
		first := c.do(t, "POST", "/v1/emails", body, "Idempotency-Key", "k1")
		if first.status != http.StatusAccepted || env.Count(t, "idempotency_keys") != 1 {
			t.Fatalf("send: %d %s (%d keys)", first.status, first.body, env.Count(t, "idempotency_keys"))
		}
		again := c.do(t, "POST", "/v1/emails", body, "Idempotency-Key", "k1")
		if again.status != http.StatusAccepted || !bytes.Equal(again.body, first.body) || again.header.Get("Idempotent-Replayed") != "true" ||
			again.header.Get("Location") != first.header.Get("Location") || env.Count(t, "emails") != 1 {
			t.Fatalf("replay: %d %s %v, first %s", again.status, again.body, again.header, first.body)
		}
		other := c.do(t, "POST", "/v1/emails", `{"from":"hello@acme.example","to":"bob@x.example","subject":"Other","text":"x"}`,
			"Idempotency-Key", "k1")
		if other.status != http.StatusConflict || !bytes.Contains(other.body, []byte("idempotency_conflict")) || env.Count(t, "emails") != 1 {
			t.Fatalf("other body: %d %s", other.status, other.body)
		}

		// A refused send keeps nothing under its key.
		bad := c.do(t, "POST", "/v1/emails", `{"from":"hello@acme.example","to":"ana@x.example","template":"nope"}`, "Idempotency-Key", "k2")
		if bad.status/100 != 4 || env.Count(t, "idempotency_keys") != 1 || env.Count(t, "emails") != 1 {
			t.Fatalf("refused send: %d %s (%d keys)", bad.status, bad.body, env.Count(t, "idempotency_keys"))
		}
		if r := c.do(t, "POST", "/v1/emails", body, "Idempotency-Key", "k2"); r.status != http.StatusAccepted || env.Count(t, "emails") != 2 {
			t.Fatalf("corrected send: %d %s", r.status, r.body)
		}

		// Concurrent requests with one key: one email, every answer its.
		var (
			wg  sync.WaitGroup
			mu  sync.Mutex
			ids = map[string]int{}
		)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := c.do(t, "POST", "/v1/emails", body, "Idempotency-Key", "k3")
				var e wire.Email
				if r.status == http.StatusAccepted {
					r.json(t, &e)
				}
				mu.Lock()
				ids[e.ID]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if len(ids) != 1 || ids[""] != 0 || env.Count(t, "emails") != 3 {
			t.Fatalf("concurrent sends of one key: %v, %d emails", ids, env.Count(t, "emails"))
		}

		// With the HTTP record gone (expired and purged), the email's own
		// key still answers the same email.
		var sent wire.Email
		first.json(t, &sent)
		if err := env.App.DB.Write(context.Background(), func(tx *store.Tx) error {
			_, err := tx.Exec(context.Background(), "DELETE FROM idempotency_keys")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var late wire.Email
		r := c.do(t, "POST", "/v1/emails", body, "Idempotency-Key", "k1")
		r.json(t, &late)
		if r.status != http.StatusAccepted || late.ID != sent.ID || env.Count(t, "emails") != 3 {
			t.Fatalf("after the record expired: %d %s", r.status, r.body)
		}

		// A batch replays too.
		batch := `{"emails":[{"from":"hello@acme.example","to":"a@x.example","subject":"1","text":"1"},
			{"from":"hello@acme.example","to":"b@x.example","subject":"2","text":"2"}]}`
		b1 := c.do(t, "POST", "/v1/emails/batch", batch, "Idempotency-Key", "b1")
		b2 := c.do(t, "POST", "/v1/emails/batch", batch, "Idempotency-Key", "b1")
		if b1.status != http.StatusAccepted || b2.status != http.StatusAccepted || !bytes.Equal(b1.body, b2.body) || env.Count(t, "emails") != 5 {
			t.Fatalf("batch replay: %d %s / %d %s", b1.status, b1.body, b2.status, b2.body)
		}
	})
}
