package core_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/contacts"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/operators"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/store/storetest"
	"github.com/joist-dev/joist/internal/tenants"
)

var root = auth.Actor{Type: auth.ActorRoot, ID: "root:test", AllTenants: true}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newService(t *testing.T, db *store.DB) (*core.Service, *clock) {
	c := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	return core.New(db, c.now, slog.New(slog.DiscardHandler), core.Options{SessionTTL: time.Hour}), c
}

func is(err, kind error) bool { return errors.Is(err, kind) }

func TestRolesAndScopes(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, c := newService(t, db)
		ts, cs := tenants.New(core.Deps{DB: db, Now: c.now}, s), contacts.New(core.Deps{DB: db, Now: c.now}, s)
		ops := operators.New(core.Deps{DB: db, Now: c.now}, s, operators.Options{InviteTTL: 24 * time.Hour})
		a, err := ts.Create(ctx, root, tenants.Input{Slug: "a"})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := ts.Create(ctx, root, tenants.Input{Slug: "b"})
		op := func(role auth.Role, all bool, tenants ...string) auth.Actor {
			return auth.Actor{Type: auth.ActorOperator, ID: "op_" + string(role), Role: role, AllTenants: all, TenantIDs: tenants}
		}
		viewer, support := op(auth.RoleViewer, true), op(auth.RoleSupport, false, a.ID)
		adminA, owner := op(auth.RoleAdmin, false, a.ID), op(auth.RoleOwner, true)

		if _, _, err := ts.KeyCreate(ctx, viewer, a.ID, "x"); !is(err, core.ErrForbidden) {
			t.Errorf("viewer created a key: %v", err)
		}
		if _, _, err := cs.Upsert(ctx, viewer, a.ID, "c1", contacts.Input{}); !is(err, core.ErrForbidden) {
			t.Errorf("viewer wrote a contact: %v", err)
		}
		if _, _, err := cs.Upsert(ctx, support, a.ID, "c1", contacts.Input{}); err != nil {
			t.Errorf("support could not write a contact: %v", err)
		}
		if _, _, err := cs.Upsert(ctx, support, b.ID, "c1", contacts.Input{}); !is(err, core.ErrNotFound) {
			t.Errorf("support scoped to a reached b: %v", err)
		}
		if _, err := s.TenantGet(ctx, adminA, "b"); !is(err, core.ErrNotFound) {
			t.Errorf("scoped admin saw tenant b: %v", err)
		}
		if l, _, _ := s.TenantList(ctx, adminA, store.Page{}); len(l) != 1 || l[0].ID != a.ID {
			t.Errorf("scoped admin lists %v", l)
		}
		if _, err := ts.Create(ctx, adminA, tenants.Input{Slug: "c"}); !is(err, core.ErrForbidden) {
			t.Errorf("scoped admin created a tenant: %v", err)
		}
		if _, _, err := ops.Invite(ctx, adminA, operators.Input{Email: "o@x.io", Role: "owner", AllTenants: false, TenantIDs: []string{a.ID}}); !is(err, core.ErrForbidden) {
			t.Errorf("admin granted owner: %v", err)
		}
		if _, _, err := ops.Invite(ctx, adminA, operators.Input{Email: "o@x.io", Role: "viewer", AllTenants: true}); !is(err, core.ErrForbidden) {
			t.Errorf("scoped admin granted all tenants: %v", err)
		}
		if _, _, err := ops.Invite(ctx, adminA, operators.Input{Email: "o@x.io", Role: "viewer", TenantIDs: []string{b.ID}}); !is(err, core.ErrInvalid) {
			t.Errorf("scoped admin granted tenant b: %v", err)
		}
		o, tok, err := ops.Invite(ctx, adminA, operators.Input{Email: "Vi@X.io", Role: "viewer", TenantIDs: []string{a.ID}})
		if err != nil || tok == "" || o.Email != "vi@x.io" {
			t.Fatalf("invite: %v %+v", err, o)
		}
		if _, _, err := ops.Invite(ctx, owner, operators.Input{Email: "vi@x.io", Role: "viewer", AllTenants: true}); !is(err, core.ErrConflict) {
			t.Errorf("duplicate email: %v", err)
		}
		if n := storetest.Count(t, db, "operators"); n != 1 {
			t.Errorf("operators = %d after refused invites, want 1", n)
		}
		// Audit: scoped actors see only their tenants' entries.
		entries, _, err := s.AuditList(ctx, adminA, store.Page{}, store.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.TenantID != a.ID {
				t.Errorf("scoped admin sees audit entry of tenant %q (%s)", e.TenantID, e.Action)
			}
		}
	})
}

func TestBootstrapIsIdempotent(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := newService(t, db)
		r1, err := s.Bootstrap(ctx, core.BootstrapInput{})
		if err != nil || r1.RootKey == "" || r1.OwnerPassword == "" {
			t.Fatalf("first: %+v %v", r1, err)
		}
		r2, err := s.Bootstrap(ctx, core.BootstrapInput{})
		if err != nil || r2.RootKey != "" || r2.OwnerEmail != "" {
			t.Fatalf("second bootstrap made credentials again: %+v %v", r2, err)
		}
		a, err := s.Authenticate(ctx, r1.RootKey, "")
		if err != nil || a.Type != auth.ActorRoot {
			t.Fatalf("generated root key: %v %+v", err, a)
		}
	})
}

// TestTenantGetCache: a node keeps the tenants it found (a tenant row never
// changes: the test changes one behind its back to see the node answer
// from memory), never what it did not find (a tenant created through
// another node is found at once), and checks the actor's reach on every
// call, cached or not.
func TestTenantGetCache(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s1, _ := newService(t, db)
		s2, c2 := newService(t, db)
		ts2 := tenants.New(core.Deps{DB: db, Now: c2.now}, s2)
		if _, err := s1.TenantGet(ctx, root, "later"); !is(err, core.ErrNotFound) {
			t.Fatalf("before it exists: %v", err)
		}
		tn, err := ts2.Create(ctx, root, tenants.Input{Slug: "later", Name: "Later Inc"})
		if err != nil {
			t.Fatal(err)
		}
		for _, ref := range []string{"later", tn.ID} {
			got, err := s1.TenantGet(ctx, root, ref)
			if err != nil || got.ID != tn.ID || got.Name != "Later Inc" {
				t.Fatalf("%s after another node created it: %+v %v", ref, got, err)
			}
		}
		if err := db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, "UPDATE tenants SET name = 'Changed' WHERE id = ?", tn.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if got, err := s1.TenantGet(ctx, root, "later"); err != nil || got.Name != "Later Inc" {
			t.Fatalf("the node that found it answers from memory: %+v %v", got, err)
		}
		other := auth.Actor{Type: auth.ActorOperator, ID: "op_x", Role: auth.RoleViewer, TenantIDs: []string{"tn_someoneelse"}}
		if _, err := s1.TenantGet(ctx, other, "later"); !is(err, core.ErrNotFound) {
			t.Fatalf("an actor who cannot see it: %v", err)
		}
	})
}
