package notify

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/secretbox"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/store/storetest"
)

// FuzzContactToken: whatever a browser sends as a contact token, in the
// header or in the stream's query, the answer is a 401 with a code (never
// another error, which would be a 500 and an ERROR in the log), and only
// a token joist signed for a real contact passes.
func FuzzContactToken(f *testing.F) {
	db := storetest.Open(f, store.SQLite, Migrations())
	ctx := context.Background()
	c := core.New(db, time.Now, slog.New(slog.DiscardHandler), core.Options{})
	box, err := secretbox.New(make([]byte, 32))
	if err != nil {
		f.Fatal(err)
	}
	feed := NewFeed(core.Deps{DB: db, Now: c.Now}, c, FeedOptions{Box: box})
	tn := storetest.Tenant(f, db, "clinic")
	now := c.Now()
	if err := db.Write(ctx, func(tx *store.Tx) error {
		return tx.Tenant(tn.ID).ContactInsert(ctx, store.Contact{ID: "ct_alice", ExternalID: "alice", CreatedAt: now, UpdatedAt: now})
	}); err != nil {
		f.Fatal(err)
	}
	good, _, err := feed.MintToken(ctx, auth.Actor{Type: auth.ActorRoot, ID: "root:test", AllTenants: true}, tn.ID, "alice", time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{good, good + "x", good[:len(good)-1], "a.b.c", "..", "jk_0123456789", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.",
		"eyJhbGciOiJIUzI1NiIsImtpZCI6ImZrc194In0.e30.AAAA", "Bearer", "\x00.\x00.\x00", "é.é.é"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, viaQuery := range []bool{false, true} {
			r := httptest.NewRequest("GET", streamPath, nil)
			if viaQuery {
				r.URL.RawQuery = "token=" + url.QueryEscape(raw)
			} else {
				r.Header = http.Header{"Authorization": {"Bearer " + raw}}
			}
			tenantID, contactID, err := feed.Contact(r)
			if raw == good {
				if err != nil || tenantID != tn.ID || contactID != "ct_alice" {
					t.Fatalf("joist's own token: %s %s %v", tenantID, contactID, err)
				}
				continue
			}
			if code := tokenCode(err); code == "" || len(code) > 6 && code[:6] == "other:" {
				// A token that passes must be joist's: another string that
				// verifies would be a forgery.
				t.Fatalf("%q: %q (%v)", raw, code, err)
			}
		}
	})
}
