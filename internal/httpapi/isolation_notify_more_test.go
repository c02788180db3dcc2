package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/store"
)

// notifyMoreIsolationCases adds digests and the hosted preferences page to
// TestTenantIsolation. A digest of B's is 404 to A's key. The page takes
// no key: its signed token names tenant and contact, so A's token
// rewritten to name B is refused (404) and changes nothing, and B's
// preferences never show through A's page.
func notifyMoreIsolationCases(t *testing.T, s *setup, cases map[string]func(t *testing.T), want404 func(*testing.T, rawResp)) {
	t.Helper()
	bk := s.keyB.Key
	if r := s.raw(t, "PUT", "/v1/contacts/b-digest-only", bk, "", `{"email":"dora@b.example"}`); r.status != http.StatusCreated {
		t.Fatalf("B's contact: %d %s", r.status, r.body)
	}
	var contactB string
	err := s.env.App.DB.Read(s.ctx, func(tx *store.Tx) error {
		c, err := tx.Tenant(s.b.ID).ContactGet(s.ctx, "b-digest-only")
		contactB = c.ID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	digestB := store.NewID("ndg_")
	now := time.Now().UTC()
	err = s.env.App.DB.Write(s.ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(s.ctx, `INSERT INTO notification_digests (id, tenant_id, contact_id, type, digest_key, status, count, window_start, window_end, created_at, updated_at)
			VALUES (?, ?, ?, 'b.secret', 'k', 'open', 1, ?, ?, ?, ?)`, digestB, s.b.ID, contactB, now, now.Add(time.Hour), now, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	cases["GET /v1/digests/{digest}"] = func(t *testing.T) {
		want404(t, s.raw(t, "GET", "/v1/digests/"+digestB, s.keyA.Key, "", ""))
		want404(t, s.raw(t, "GET", "/v1/digests/"+digestB, s.keyA.Key, "clinic-b", ""))
		if r := s.raw(t, "GET", "/v1/digests/"+digestB, bk, "", ""); r.status != http.StatusOK {
			t.Fatalf("B's own digest: %d %s", r.status, r.body)
		}
	}

	// A's page for A's contact of the same external id as one of B's.
	if r := s.raw(t, "PUT", "/v1/contacts/b-digest-only", s.keyA.Key, "", `{"email":"dora@a.example"}`); r.status != http.StatusCreated {
		t.Fatalf("A's contact: %d %s", r.status, r.body)
	}
	var contactA string
	err = s.env.App.DB.Read(s.ctx, func(tx *store.Tx) error {
		c, err := tx.Tenant(s.a.ID).ContactGet(s.ctx, "b-digest-only")
		contactA = c.ID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	svc := s.env.App.Notify
	tokA := svc.PreferencesToken(s.a.ID, contactA)
	raw, _ := base64.RawURLEncoding.DecodeString(tokA)
	if len(s.a.ID) != len(s.b.ID) || !bytes.Contains(raw, []byte(s.a.ID)) {
		t.Fatalf("cannot rewrite %s into %s in the token", s.a.ID, s.b.ID)
	}
	tokIntoB := base64.RawURLEncoding.EncodeToString(bytes.Replace(raw, []byte(s.a.ID), []byte(s.b.ID), 1))
	prefsB := func(t *testing.T) string {
		t.Helper()
		r := s.raw(t, "GET", "/v1/contacts/b-digest-only/preferences", bk, "", "")
		if r.status != http.StatusOK {
			t.Fatalf("B's preferences: %d %s", r.status, r.body)
		}
		return r.body
	}
	before := prefsB(t)
	cases["GET /p/{token}"] = func(t *testing.T) {
		if r := s.raw(t, "GET", "/p/"+tokIntoB, s.keyA.Key, "", ""); r.status != http.StatusNotFound {
			t.Fatalf("A's token rewritten to B: %d", r.status)
		}
		r := s.raw(t, "GET", "/p/"+tokA, bk, "", "")
		if r.status != http.StatusOK || strings.Contains(r.body, "b.secret") || strings.Contains(r.body, "secret-b-title") {
			t.Fatalf("A's page: %d, shows B's types: %v", r.status, strings.Contains(r.body, "secret-b-title"))
		}
	}
	cases["POST /p/{token}"] = func(t *testing.T) {
		form := url.Values{"channel.email": {"off"}}.Encode()
		r := s.raw(t, "POST", "/p/"+tokIntoB, "", "", form, "Content-Type", "application/x-www-form-urlencoded")
		if r.status != http.StatusNotFound {
			t.Fatalf("a form to A's token rewritten to B: %d", r.status)
		}
		if after := prefsB(t); after != before {
			t.Fatalf("B's preferences changed: %s -> %s", before, after)
		}
	}
}
