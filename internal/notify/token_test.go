package notify

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/httpapi"
	"github.com/joist-dev/joist/internal/secretbox"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/store/storetest"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func tokenCode(err error) string {
	var p *httpapi.Problem
	if errors.As(err, &p) && p.Status == http.StatusUnauthorized {
		return p.Code
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return ""
}

// TestFeedSecretRotation: after a rotation tokens of the old and the new
// secret both verify; once the grace period has passed on the clock,
// the old one's are refused and the new one's still pass; a token
// expires by the clock too.
func TestFeedSecretRotation(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
		c := core.New(db, clk.now, slog.New(slog.DiscardHandler), core.Options{})
		box, err := secretbox.New(make([]byte, 32))
		if err != nil {
			t.Fatal(err)
		}
		f := NewFeed(core.Deps{DB: db, Now: c.Now}, c, FeedOptions{Box: box})
		tn := storetest.Tenant(t, db, "clinic")
		now := clk.now()
		err = db.Write(ctx, func(tx *store.Tx) error {
			return tx.Tenant(tn.ID).ContactInsert(ctx, store.Contact{ID: "ct_alice", ExternalID: "alice", CreatedAt: now, UpdatedAt: now})
		})
		if err != nil {
			t.Fatal(err)
		}
		a := auth.Actor{Type: auth.ActorRoot, ID: "root:test", AllTenants: true}
		old, _, err := f.MintToken(ctx, a, tn.ID, "alice", 23*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		short, _, err := f.MintToken(ctx, a, tn.ID, "alice", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if p, err := f.verify(ctx, old); err != nil || p.tenantID != tn.ID || p.contactID != "ct_alice" {
			t.Fatalf("verify: %+v %v", p, err)
		}
		secs, err := f.RotateFeedSecret(ctx, a, tn.ID)
		if err != nil || len(secs) != 2 || secs[1].ExpiresAt == nil || !secs[1].ExpiresAt.Equal(now.Add(24*time.Hour)) {
			t.Fatalf("rotate: %+v %v", secs, err)
		}
		fresh, _, err := f.MintToken(ctx, a, tn.ID, "alice", 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		for name, tok := range map[string]string{"old": old, "new": fresh} {
			if _, err := f.verify(ctx, tok); err != nil {
				t.Fatalf("%s during the rotation: %v", name, err)
			}
		}
		clk.add(90 * time.Minute)
		if code := tokenCode(func() error { _, err := f.verify(ctx, short); return err }()); code != "token_expired" {
			t.Fatalf("an hour's token after 90m: %q", code)
		}
		clk.add(22*time.Hour + 31*time.Minute) // 24h and a minute after the rotation
		if code := tokenCode(func() error { _, err := f.verify(ctx, old); return err }()); code != "token_invalid" {
			t.Fatalf("the old secret's token after the grace period: %q", code)
		}
		later, _, err := f.MintToken(ctx, a, tn.ID, "alice", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.verify(ctx, later); err != nil {
			t.Fatalf("the new secret's token: %v", err)
		}
		if code := tokenCode(func() error { _, err := f.verify(ctx, fresh); return err }()); code != "token_expired" {
			t.Fatalf("a 24h token after 24h1m: %q", code)
		}
		if secs, err := f.FeedSecrets(ctx, a, tn.ID); err != nil || len(secs) != 1 || secs[0].ExpiresAt != nil {
			t.Fatalf("live secrets after the grace period: %+v %v", secs, err)
		}
		// Sealed at rest: the stored column is not the secret.
		var enc string
		if err := db.Read(ctx, func(tx *store.Tx) error {
			return tx.QueryRow(ctx, "SELECT secret_enc FROM feed_secrets WHERE id = ?", secs[0].Kid).Scan(&enc)
		}); err != nil || enc == secs[0].Secret || len(enc) < 10 {
			t.Fatalf("stored %q %v", enc, err)
		}
	}, Migrations())
}
