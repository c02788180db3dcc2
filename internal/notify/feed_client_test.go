package notify_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/joist-dev/joist/client"
	"github.com/joist-dev/joist/internal/apptest"
)

// TestClientFeed: the Go client mints a token with the API key, and a
// client made with that token reads and changes the contact's feed.
func TestClientFeed(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		a := newFx(t, env, "clinic-a")
		alice := a.contact(t, "alice")
		id, _ := a.notify(t, alice, "hello")
		app := client.New(env.URL, env.RootKey, a.hc).Tenant(a.tenant.ID)
		tok, err := app.CreateContactToken(ctx, "alice", "30m")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.PutNotificationSettings(ctx, client.NotificationSettings{AllowedOrigins: []string{"https://x.example"}}); err != nil {
			t.Fatal(err)
		}
		if s, err := app.RotateFeedSecret(ctx); err != nil || len(s.Previous) != 1 {
			t.Fatalf("rotate: %+v %v", s, err)
		}
		user := client.New(env.URL, tok.Token, a.hc)
		l, err := user.Feed(ctx, "unread", client.ListOptions{})
		if err != nil || len(l.Data) != 1 || l.Data[0].ID != id {
			t.Fatalf("feed: %+v %v", l, err)
		}
		if it, err := user.FeedSetState(ctx, id, "seen"); err != nil || it.SeenAt == nil {
			t.Fatalf("seen: %+v %v", it, err)
		}
		if n, err := user.FeedReadAll(ctx); err != nil || n != 1 {
			t.Fatalf("read-all: %d %v", n, err)
		}
		if c, err := user.FeedCounts(ctx); err != nil || c.Unread != 0 || c.Unseen != 0 {
			t.Fatalf("counts: %+v %v", c, err)
		}
		// The API key is no feed credential.
		if _, err := app.FeedCounts(ctx); err == nil {
			t.Fatal("the API key read the feed")
		} else if e, ok := err.(*client.Error); !ok || e.Status != http.StatusUnauthorized || e.Code != "contact_token_required" {
			t.Fatalf("API key on the feed: %v", err)
		}
	})
}
