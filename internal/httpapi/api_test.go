package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/joist-dev/joist/client"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/store"
)

// setup is a running joist with two tenants, each with a key and a contact.
type setup struct {
	env            *apptest.Env
	root           *client.Client
	a, b           *client.Tenant
	keyA, keyB     *client.Key
	asA, asB       *client.Client // tenant keys
	contactB       *client.Contact
	contactA       *client.Contact
	revokedKeyOfB  *client.Key
	ctx            context.Context
	hc             *http.Client
	correlationIDs []string
}

func newSetup(t *testing.T, env *apptest.Env) *setup {
	t.Helper()
	ctx := context.Background()
	hc := httpClient(t)
	s := &setup{env: env, ctx: ctx, hc: hc, root: client.New(env.URL, env.RootKey, hc)}
	var err error
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	s.a, err = s.root.CreateTenant(ctx, client.TenantCreate{Slug: "clinic-a", Name: "Clinic A"})
	must(err)
	s.b, err = s.root.CreateTenant(ctx, client.TenantCreate{Slug: "clinic-b", Name: "Clinic B"})
	must(err)
	s.keyA, err = s.root.CreateKey(ctx, "clinic-a", "a")
	must(err)
	s.keyB, err = s.root.CreateKey(ctx, s.b.ID, "b")
	must(err)
	s.revokedKeyOfB, err = s.root.CreateKey(ctx, s.b.ID, "b-old")
	must(err)
	_, err = s.root.RevokeKey(ctx, s.b.ID, s.revokedKeyOfB.ID)
	must(err)
	s.asA = client.New(env.URL, s.keyA.Key, hc)
	s.asB = client.New(env.URL, s.keyB.Key, hc)
	s.contactA, _, err = s.asA.UpsertContact(ctx, "shared-id", client.ContactUpsert{Email: client.String("ann@a.example"), Name: client.String("Ann")})
	must(err)
	s.contactB, _, err = s.asB.UpsertContact(ctx, "only-in-b", client.ContactUpsert{Email: client.String("bob@b.example"), Name: client.String("Bob")})
	must(err)
	_, _, err = s.asB.UpsertContact(ctx, "shared-id", client.ContactUpsert{Email: client.String("bea@b.example")})
	must(err)
	return s
}

func problemCode(err error) (int, string) {
	var e *client.Error
	if errors.As(err, &e) {
		return e.Status, e.Code
	}
	return 0, ""
}

func TestQuickstartFlow(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		s := newSetup(t, env)
		ctx := s.ctx
		var h http.Header
		c, created, err := s.asA.UpsertContact(ctx, "shared-id", client.ContactUpsert{Timezone: client.String("Europe/Paris"),
			Metadata: json.RawMessage(`{"plan":"pro"}`)}, client.CorrelationID("booking-123"), client.ResponseHeader(&h))
		if err != nil || created {
			t.Fatalf("update: %v created=%v", err, created)
		}
		if h.Get("Joist-Correlation-Id") != "booking-123" {
			t.Fatalf("correlation id not echoed: %q", h.Get("Joist-Correlation-Id"))
		}
		if c.Email != "ann@a.example" || c.Timezone != "Europe/Paris" || string(c.Metadata) == "{}" {
			t.Fatalf("absent fields must be kept, present ones replaced: %+v", c)
		}
		tl, err := s.asA.ListTimeline(ctx, "shared-id", client.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(tl.Data) != 2 || tl.Data[0].Kind != "contact.updated" || tl.Data[1].Kind != "contact.created" {
			t.Fatalf("timeline: %+v", tl.Data)
		}
		if tl.Data[0].CorrelationID != "booking-123" || !strings.Contains(tl.Data[0].Summary, "timezone") {
			t.Fatalf("timeline entry lacks correlation id or change summary: %+v", tl.Data[0])
		}
		// The same upsert again changes nothing and writes no timeline entry.
		if _, _, err := s.asA.UpsertContact(ctx, "shared-id", client.ContactUpsert{Timezone: client.String("Europe/Paris")}); err != nil {
			t.Fatal(err)
		}
		if tl2, _ := s.asA.ListTimeline(ctx, "shared-id", client.ListOptions{}); len(tl2.Data) != 2 {
			t.Fatalf("no-op upsert wrote a timeline entry: %d", len(tl2.Data))
		}
		// Search by email, name and external id, case-insensitively.
		for _, q := range []string{"ANN@", "ann", "shared"} {
			l, err := s.asA.ListContacts(ctx, client.ContactListOptions{Q: q})
			if err != nil || len(l.Data) != 1 || l.Data[0].ExternalID != "shared-id" {
				t.Fatalf("search %q: %v %+v", q, err, l)
			}
		}
		// The root key reaches a tenant through Joist-Tenant, by slug or id.
		for _, ref := range []string{"clinic-a", s.a.ID} {
			got, err := s.root.Tenant(ref).GetContact(ctx, "shared-id")
			if err != nil || got.ID != s.contactA.ID {
				t.Fatalf("root via %s: %v", ref, err)
			}
		}
		// Key creation is audited with the key's id, never the secret.
		al, err := s.root.ListAudit(ctx, client.AuditListOptions{Action: "key.create"})
		if err != nil {
			t.Fatal(err)
		}
		if len(al.Data) < 3 {
			t.Fatalf("audit key.create entries = %d, want >= 3", len(al.Data))
		}
		for _, e := range al.Data {
			if strings.Contains(string(e.Summary), "jk_") && len(e.Summary) > 40 && strings.Contains(string(e.Summary), s.keyA.Key) {
				t.Fatalf("audit summary leaks the key: %s", e.Summary)
			}
		}
		// last_used_at is written on use.
		keys, err := s.root.ListKeys(ctx, "clinic-a", client.ListOptions{})
		if err != nil || len(keys.Data) != 1 || keys.Data[0].LastUsedAt == nil || keys.Data[0].Key != "" {
			t.Fatalf("keys: %v %+v", err, keys)
		}
	})
}

func TestRootKeyWithoutTenantIsTenantRequired(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		s := newSetup(t, env)
		_, err := s.root.GetContact(s.ctx, "shared-id")
		if st, code := problemCode(err); st != 400 || code != "tenant_required" {
			t.Fatalf("got %d %s, want 400 tenant_required", st, code)
		}
		_, err = s.root.Tenant("no-such-tenant").GetContact(s.ctx, "shared-id")
		if st, code := problemCode(err); st != 404 || code != "tenant_not_found" {
			t.Fatalf("got %d %s, want 404 tenant_not_found", st, code)
		}
	})
}

func TestPaginationThroughAPI(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		s := newSetup(t, env)
		for i := range 5 {
			if _, _, err := s.asA.UpsertContact(s.ctx, "p"+string(rune('0'+i)), client.ContactUpsert{}); err != nil {
				t.Fatal(err)
			}
		}
		seen := map[string]bool{}
		lo := client.ContactListOptions{ListOptions: client.ListOptions{Limit: 2}}
		for range 10 {
			l, err := s.asA.ListContacts(s.ctx, lo)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range l.Data {
				seen[c.ExternalID] = true
			}
			if l.NextCursor == "" {
				break
			}
			lo.Cursor = l.NextCursor
		}
		if len(seen) != 6 {
			t.Fatalf("paged through %d contacts, want 6", len(seen))
		}
	})
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		s := newSetup(t, env)
		ctx := s.ctx
		var h1, h2 http.Header
		t1, err := s.root.CreateTenant(ctx, client.TenantCreate{Slug: "idem"}, client.IdempotencyKey("k1"), client.ResponseHeader(&h1))
		if err != nil {
			t.Fatal(err)
		}
		t2, err := s.root.CreateTenant(ctx, client.TenantCreate{Slug: "idem"}, client.IdempotencyKey("k1"), client.ResponseHeader(&h2))
		if err != nil {
			t.Fatalf("replay: %v", err)
		}
		if t1.ID != t2.ID || h2.Get("Idempotent-Replayed") != "true" || h1.Get("Idempotent-Replayed") != "" {
			t.Fatalf("replay gave %s vs %s (replayed=%q)", t1.ID, t2.ID, h2.Get("Idempotent-Replayed"))
		}
		_, err = s.root.CreateTenant(ctx, client.TenantCreate{Slug: "idem-other"}, client.IdempotencyKey("k1"))
		if st, code := problemCode(err); st != 409 || code != "idempotency_conflict" {
			t.Fatalf("same key, other body: %d %s", st, code)
		}
		// A failed request is not kept: retrying with the same key runs again.
		_, err = s.root.CreateKey(ctx, "clinic-a", strings.Repeat("x", 101), client.IdempotencyKey("k2"))
		if st, _ := problemCode(err); st != 400 {
			t.Fatalf("bad key name: %v", err)
		}
		k, err := s.root.CreateKey(ctx, "clinic-a", "ok", client.IdempotencyKey("k2"))
		if err != nil || k.Key == "" {
			t.Fatalf("retry after a failure: %v", err)
		}
		// Keys are scoped per tenant: the same key on another tenant's route runs.
		k2, err := s.root.CreateKey(ctx, "clinic-b", "ok", client.IdempotencyKey("k2"))
		if err != nil || k2.ID == k.ID {
			t.Fatalf("idempotency key leaked across tenants: %v", err)
		}
		if n := env.Count(t, "tenants"); n != 4 { // three, and the instance tenant
			t.Fatalf("tenants = %d, want 3", n)
		}
	})
}

// TestIdempotencyUnderConcurrency sends one creating request 20 times at
// once with one key: exactly one tenant is created; every other answer is a
// replay of it or 409 idempotency_in_progress.
func TestIdempotencyUnderConcurrency(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		s := newSetup(t, env)
		before := env.Count(t, "tenants")
		type res struct {
			id   string
			code string
		}
		out := make(chan res, 20)
		for range 20 {
			go func() {
				tn, err := s.root.CreateTenant(s.ctx, client.TenantCreate{Slug: "race"}, client.IdempotencyKey("race-1"))
				if err != nil {
					_, code := problemCode(err)
					out <- res{code: code}
					return
				}
				out <- res{id: tn.ID}
			}()
		}
		ids := map[string]bool{}
		for range 20 {
			r := <-out
			switch {
			case r.id != "":
				ids[r.id] = true
			case r.code != "idempotency_in_progress":
				t.Errorf("unexpected answer %q", r.code)
			}
		}
		if len(ids) != 1 {
			t.Fatalf("%d distinct tenants returned, want 1", len(ids))
		}
		if n := env.Count(t, "tenants"); n != before+1 {
			t.Fatalf("tenants went from %d to %d, want +1", before, n)
		}
	})
}

// TestKeySecretIsNeverKeptForReplay: a replayed key creation names the key
// but does not carry its secret, and no table holds the secret.
func TestKeySecretIsNeverKeptForReplay(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		s := newSetup(t, env)
		var h1, h2 http.Header
		k1, err := s.root.CreateKey(s.ctx, "clinic-a", "ci", client.IdempotencyKey("kk"), client.ResponseHeader(&h1))
		if err != nil || k1.Key == "" {
			t.Fatal(err)
		}
		k2, err := s.root.CreateKey(s.ctx, "clinic-a", "ci", client.IdempotencyKey("kk"), client.ResponseHeader(&h2))
		if err != nil {
			t.Fatal(err)
		}
		if k2.ID != k1.ID || k2.Key != "" || h2.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay: id %s vs %s, secret %q", k2.ID, k1.ID, k2.Key)
		}
		if h1.Get("Cache-Control") != "no-store" || h2.Get("Cache-Control") != "no-store" {
			t.Fatalf("Cache-Control: %q / %q", h1.Get("Cache-Control"), h2.Get("Cache-Control"))
		}
		var n int
		err = env.App.DB.Read(s.ctx, func(tx *store.Tx) error {
			return tx.QueryRow(s.ctx, "SELECT count(*) FROM idempotency_keys WHERE body LIKE ?", "%"+k1.Key+"%").Scan(&n)
		})
		if err != nil || n != 0 {
			t.Fatalf("the secret is stored in idempotency_keys (%d rows, %v)", n, err)
		}
		// Location is replayed too.
		var h3, h4 http.Header
		s.root.CreateTenant(s.ctx, client.TenantCreate{Slug: "loc"}, client.IdempotencyKey("loc"), client.ResponseHeader(&h3))
		s.root.CreateTenant(s.ctx, client.TenantCreate{Slug: "loc"}, client.IdempotencyKey("loc"), client.ResponseHeader(&h4))
		if h3.Get("Location") == "" || h4.Get("Location") != h3.Get("Location") {
			t.Fatalf("Location %q replayed as %q", h3.Get("Location"), h4.Get("Location"))
		}
		// A second revoke changes nothing and is not audited again.
		s.root.RevokeKey(s.ctx, "clinic-a", k1.ID)
		s.root.RevokeKey(s.ctx, "clinic-a", k1.ID)
		al, _ := s.root.ListAudit(s.ctx, client.AuditListOptions{Action: "key.revoke", TargetID: k1.ID})
		if len(al.Data) != 1 {
			t.Fatalf("key.revoke audited %d times", len(al.Data))
		}
		// A conflict names the existing object.
		_, err = s.root.CreateTenant(s.ctx, client.TenantCreate{Slug: "clinic-a"})
		var pe *client.Error
		if !errors.As(err, &pe) || pe.ExistingID != s.a.ID {
			t.Fatalf("slug_taken should name %s: %v", s.a.ID, err)
		}
	})
}

// TestAbandonedIdempotencyClaimIsTakenOver: a claim left pending by a node
// that died is taken over after store.PendingClaimTimeout.
func TestAbandonedIdempotencyClaimIsTakenOver(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		s := newSetup(t, env)
		old := time.Now().Add(-2 * store.PendingClaimTimeout)
		err := env.App.DB.Write(s.ctx, func(tx *store.Tx) error {
			_, err := tx.IdempotencyClaim(s.ctx, store.IdempotencyRecord{Route: "POST /v1/tenants", Key: "dead-node",
				RequestHash: "x", CreatedAt: old, ExpiresAt: old.Add(time.Hour)}, old)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		tn, err := s.root.CreateTenant(s.ctx, client.TenantCreate{Slug: "after-crash"}, client.IdempotencyKey("dead-node"))
		if err != nil || tn.Slug != "after-crash" {
			t.Fatalf("abandoned claim not taken over: %v", err)
		}
	})
}
