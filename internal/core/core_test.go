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
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/store/storetest"
	"github.com/joist-dev/joist/internal/tenants"
)

var root = auth.Actor{Type: auth.ActorRoot, ID: "root:test", AllTenants: true}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newService(t *testing.T, db *store.DB) (*core.Service, *clock) {
	c := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	return core.New(db, c.now, slog.New(slog.DiscardHandler), core.Options{SessionTTL: time.Hour, InviteTTL: 24 * time.Hour}), c
}

func is(err, kind error) bool { return errors.Is(err, kind) }

func TestRolesAndScopes(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, c := newService(t, db)
		ts, cs := tenants.New(core.Deps{DB: db, Now: c.now}, s), contacts.New(core.Deps{DB: db, Now: c.now}, s)
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
		if _, _, err := s.OperatorInvite(ctx, adminA, core.OperatorInput{Email: "o@x.io", Role: "owner", AllTenants: false, TenantIDs: []string{a.ID}}); !is(err, core.ErrForbidden) {
			t.Errorf("admin granted owner: %v", err)
		}
		if _, _, err := s.OperatorInvite(ctx, adminA, core.OperatorInput{Email: "o@x.io", Role: "viewer", AllTenants: true}); !is(err, core.ErrForbidden) {
			t.Errorf("scoped admin granted all tenants: %v", err)
		}
		if _, _, err := s.OperatorInvite(ctx, adminA, core.OperatorInput{Email: "o@x.io", Role: "viewer", TenantIDs: []string{b.ID}}); !is(err, core.ErrInvalid) {
			t.Errorf("scoped admin granted tenant b: %v", err)
		}
		o, tok, err := s.OperatorInvite(ctx, adminA, core.OperatorInput{Email: "Vi@X.io", Role: "viewer", TenantIDs: []string{a.ID}})
		if err != nil || tok == "" || o.Email != "vi@x.io" {
			t.Fatalf("invite: %v %+v", err, o)
		}
		if _, _, err := s.OperatorInvite(ctx, owner, core.OperatorInput{Email: "vi@x.io", Role: "viewer", AllTenants: true}); !is(err, core.ErrConflict) {
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

func TestInviteLoginDisableReset(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, clk := newService(t, db)
		if _, err := s.Bootstrap(ctx, core.BootstrapInput{OwnerEmail: "boss@x.io", OwnerPassword: "boss password 123"}); err != nil {
			t.Fatal(err)
		}
		_, _, boss, err := s.Login(ctx, "BOSS@x.io", "boss password 123", "127.0.0.1", "ua", "")
		if err != nil {
			t.Fatalf("owner login (email case-insensitive): %v", err)
		}
		owner := core.OperatorActor(boss, "127.0.0.1", "")
		o, tok, err := s.OperatorInvite(ctx, owner, core.OperatorInput{Email: "sam@x.io", Role: "support", AllTenants: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := s.Login(ctx, "sam@x.io", "", "", "", ""); !is(err, core.ErrUnauthorized) {
			t.Fatalf("invited operator logged in before setting a password: %v", err)
		}
		if _, err := s.OperatorAcceptInvite(ctx, tok, "short"); !is(err, core.ErrInvalid) {
			t.Fatalf("weak password accepted: %v", err)
		}
		if _, err := s.OperatorAcceptInvite(ctx, tok, "sam's long password"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.OperatorAcceptInvite(ctx, tok, "another long password"); !is(err, core.ErrNotFound) {
			t.Fatalf("invite used twice: %v", err)
		}
		token, _, _, err := s.Login(ctx, "sam@x.io", "sam's long password", "", "", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.SessionCheck(ctx, token); err != nil {
			t.Fatalf("session: %v", err)
		}
		// Sessions expire after the idle TTL.
		clk.t = clk.t.Add(2 * time.Hour)
		if _, _, err := s.SessionCheck(ctx, token); !is(err, core.ErrUnauthorized) {
			t.Fatalf("expired session accepted: %v", err)
		}
		token, _, _, _ = s.Login(ctx, "sam@x.io", "sam's long password", "", "", "")
		// Disabling ends sessions and logins.
		if _, err := s.OperatorUpdate(ctx, owner, o.ID, core.OperatorInput{Role: "support", AllTenants: true, Disabled: true}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.SessionCheck(ctx, token); !is(err, core.ErrUnauthorized) {
			t.Fatalf("disabled operator's session works: %v", err)
		}
		if _, _, _, err := s.Login(ctx, "sam@x.io", "sam's long password", "", "", ""); !is(err, core.ErrUnauthorized) {
			t.Fatalf("disabled operator logged in: %v", err)
		}
		// The last owner cannot be demoted.
		if _, err := s.OperatorUpdate(ctx, owner, boss.ID, core.OperatorInput{Role: "admin", AllTenants: true}); !is(err, core.ErrInvalid) {
			t.Fatalf("last owner demoted: %v", err)
		}
		// Reset: new password works, old sessions end.
		bossToken, _, _, _ := s.Login(ctx, "boss@x.io", "boss password 123", "", "", "")
		cli := auth.Actor{Type: auth.ActorCLI, ID: "cli", AllTenants: true}
		if _, err := s.OperatorResetPassword(ctx, cli, "boss@x.io", "a brand new password"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.SessionCheck(ctx, bossToken); !is(err, core.ErrUnauthorized) {
			t.Fatal("session survived a password reset")
		}
		if _, _, _, err := s.Login(ctx, "boss@x.io", "a brand new password", "", "", ""); err != nil {
			t.Fatalf("login with reset password: %v", err)
		}
		entries, _, _ := s.AuditList(ctx, cli, store.Page{Limit: 100}, store.AuditFilter{})
		actions := map[string]int{}
		for _, e := range entries {
			actions[e.Action]++
		}
		for _, a := range []string{"operator.create", "operator.invite", "operator.accept_invite", "operator.login", "operator.update", "operator.reset_password"} {
			if actions[a] == 0 {
				t.Errorf("no %s audit entry (have %v)", a, actions)
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
