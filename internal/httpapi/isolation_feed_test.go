package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/store"
)

// feedIsolationCases adds the notification feed's routes to
// TestTenantIsolation: B has a notification in the feed of its contact
// feed-only-b; A's key reaches none of B's tokens, secrets or settings,
// and A's contact token (for A's shared-id, a name B also uses) never
// lists, counts, changes or streams B's notification.
func feedIsolationCases(t *testing.T, s *setup, cases map[string]func(t *testing.T), want404, noLeak func(*testing.T, rawResp)) {
	t.Helper()
	a := s.keyA.Key
	ctx := context.Background()
	db, now := s.env.App.DB, time.Now().UTC()
	ntfB := store.NewID("ntf_")
	// A contact of B's alone (other cases create A's own only-in-b).
	var cb struct{ ID string }
	if r := s.raw(t, "PUT", "/v1/contacts/feed-only-b", s.keyB.Key, "", `{"name":"Feed B"}`); json.Unmarshal([]byte(r.body), &cb) != nil || cb.ID == "" {
		t.Fatalf("B's contact: %d %s", r.status, r.body)
	}
	err := db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO notify_events (id, tenant_id, type, data, actor, recipients, recipient_count, status, created_at)
			VALUES ('nev_iso', ?, 't', '{}', '{}', '[]', 1, 'done', ?)`, s.b.ID, now); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO notifications (id, tenant_id, event_id, contact_id, type, title, data, in_feed, seq, created_at, updated_at)
			VALUES (?, ?, 'nev_iso', ?, 't', 'B secret title', '{}', TRUE, 1, ?, ?)`, ntfB, s.b.ID, cb.ID, now, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	token := func(key, contact string) string {
		t.Helper()
		r := s.raw(t, "POST", "/v1/contacts/"+contact+"/tokens", key, "", "")
		var tok struct{ Token string }
		if r.status != http.StatusCreated || json.Unmarshal([]byte(r.body), &tok) != nil {
			t.Fatalf("token: %d %s", r.status, r.body)
		}
		return tok.Token
	}
	tokA, tokB := token(a, "shared-id"), token(s.keyB.Key, "feed-only-b")
	secretB := s.raw(t, "GET", "/v1/feed-secret", s.keyB.Key, "", "").body
	bUnread := func(t *testing.T) {
		t.Helper()
		if r := s.raw(t, "GET", "/v1/feed/counts", tokB, "", ""); !strings.Contains(r.body, `"unread":1`) {
			t.Fatalf("B's notification changed: %s", r.body)
		}
	}
	noB := func(t *testing.T, r rawResp) {
		t.Helper()
		noLeak(t, r)
		if strings.Contains(r.body, ntfB) || strings.Contains(r.body, "B secret title") {
			t.Fatalf("%s shows B's notification: %s", r.path, r.body)
		}
	}
	cases["POST /v1/contacts/{contact}/tokens"] = func(t *testing.T) {
		want404(t, s.raw(t, "POST", "/v1/contacts/feed-only-b/tokens", a, "", ""))
		want404(t, s.raw(t, "POST", "/v1/contacts/feed-only-b/tokens", a, "clinic-b", ""))
	}
	cases["GET /v1/feed-secret"] = func(t *testing.T) {
		want404(t, s.raw(t, "GET", "/v1/feed-secret", a, "clinic-b", ""))
		r := s.raw(t, "GET", "/v1/feed-secret", a, "", "")
		noLeak(t, r)
		var sb struct{ Kid, Secret string }
		_ = json.Unmarshal([]byte(secretB), &sb)
		if r.status != http.StatusOK || sb.Secret == "" || strings.Contains(r.body, sb.Secret) || strings.Contains(r.body, sb.Kid) {
			t.Fatalf("A's feed secret: %d %s", r.status, r.body)
		}
	}
	cases["POST /v1/feed-secret/rotate"] = func(t *testing.T) {
		want404(t, s.raw(t, "POST", "/v1/feed-secret/rotate", a, "clinic-b", ""))
		if r := s.raw(t, "GET", "/v1/feed-secret", s.keyB.Key, "", ""); r.body != secretB {
			t.Fatalf("B's feed secret changed: %s", r.body)
		}
	}
	cases["GET /v1/notification-settings"] = func(t *testing.T) {
		want404(t, s.raw(t, "GET", "/v1/notification-settings", a, "clinic-b", ""))
	}
	cases["PUT /v1/notification-settings"] = func(t *testing.T) {
		want404(t, s.raw(t, "PUT", "/v1/notification-settings", a, "clinic-b", `{"allowed_origins":["https://a.example"]}`))
		s.raw(t, "PUT", "/v1/notification-settings", a, "", `{"allowed_origins":["https://a.example"]}`)
		if r := s.raw(t, "GET", "/v1/notification-settings", s.keyB.Key, "", ""); strings.Contains(r.body, "a.example") {
			t.Fatalf("A's settings reached B: %s", r.body)
		}
	}
	cases["GET /v1/feed"] = func(t *testing.T) {
		for _, q := range []string{"", "?status=all", "?status=unread"} {
			noB(t, s.raw(t, "GET", "/v1/feed"+q, tokA, "", ""))
		}
		if r := s.raw(t, "GET", "/v1/feed", a, "clinic-b", ""); r.status != http.StatusUnauthorized {
			t.Fatalf("an API key on the feed: %d", r.status)
		}
	}
	cases["GET /v1/feed/counts"] = func(t *testing.T) {
		if r := s.raw(t, "GET", "/v1/feed/counts", tokA, "", ""); !strings.Contains(r.body, `"unread":0`) {
			t.Fatalf("A counts B's: %s", r.body)
		}
	}
	cases["POST /v1/feed/{notification}/{action}"] = func(t *testing.T) {
		for _, act := range []string{"seen", "read", "archive"} {
			want404(t, s.raw(t, "POST", "/v1/feed/"+ntfB+"/"+act, tokA, "", ""))
		}
		bUnread(t)
	}
	cases["POST /v1/feed/read-all"] = func(t *testing.T) {
		noB(t, s.raw(t, "POST", "/v1/feed/read-all", tokA, "", ""))
		bUnread(t)
	}
	cases["GET /v1/feed/preferences"] = func(t *testing.T) {
		// B's contact has an override; A's token for the contact of the
		// same external id sees only its own (none).
		if r := s.raw(t, "PUT", "/v1/feed/preferences", tokB, "", `{"channels":{"push":false}}`); r.status != http.StatusOK {
			t.Fatalf("B's own preferences: %d %s", r.status, r.body)
		}
		r := s.raw(t, "GET", "/v1/feed/preferences", tokA, "", "")
		noLeak(t, r)
		if r.status != http.StatusOK || strings.Contains(r.body, `"push":false`) {
			t.Fatalf("A's preferences show B's: %d %s", r.status, r.body)
		}
	}
	cases["PUT /v1/feed/preferences"] = func(t *testing.T) {
		if r := s.raw(t, "PUT", "/v1/feed/preferences", tokA, "", `{"channels":{"email":false}}`); r.status != http.StatusOK {
			t.Fatalf("A's own preferences: %d %s", r.status, r.body)
		}
		if r := s.raw(t, "GET", "/v1/contacts/feed-only-b/preferences", s.keyB.Key, "", ""); strings.Contains(r.body, `"email":false`) {
			t.Fatalf("A's PUT reached B's contact: %s", r.body)
		}
	}
	cases["GET /v1/feed/stream"] = func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", s.env.URL+"/v1/feed/stream?token="+tokA+"&last_event_id=0", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body) // until the timeout
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(b), "event: counts") {
			t.Fatalf("A's stream: %d %s", res.StatusCode, b)
		}
		noB(t, rawResp{path: "/v1/feed/stream", status: 200, body: string(b)})
	}
}
