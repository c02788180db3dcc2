package operators_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/operators"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/store/storetest"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newService(t *testing.T, db *store.DB) (*core.Service, *clock) {
	c := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	return core.New(db, c.now, slog.New(slog.DiscardHandler), core.Options{SessionTTL: time.Hour}), c
}

func is(err, kind error) bool { return errors.Is(err, kind) }

// TestInviteLoginDisableReset runs the operators system's own statements
// (invites, updates) on both stores, through the service.
func TestInviteLoginDisableReset(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, clk := newService(t, db)
		ops := operators.New(core.Deps{DB: db, Now: clk.now}, s, operators.Options{InviteTTL: 24 * time.Hour})
		if _, err := s.Bootstrap(ctx, core.BootstrapInput{OwnerEmail: "boss@x.io", OwnerPassword: "boss password 123"}); err != nil {
			t.Fatal(err)
		}
		_, _, boss, err := s.Login(ctx, "BOSS@x.io", "boss password 123", "127.0.0.1", "ua", "")
		if err != nil {
			t.Fatalf("owner login (email case-insensitive): %v", err)
		}
		owner := core.OperatorActor(boss, "127.0.0.1", "")
		o, tok, err := ops.Invite(ctx, owner, operators.Input{Email: "sam@x.io", Role: "support", AllTenants: true})
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
		if _, err := ops.Update(ctx, owner, o.ID, operators.Input{Role: "support", AllTenants: true, Disabled: true}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.SessionCheck(ctx, token); !is(err, core.ErrUnauthorized) {
			t.Fatalf("disabled operator's session works: %v", err)
		}
		if _, _, _, err := s.Login(ctx, "sam@x.io", "sam's long password", "", "", ""); !is(err, core.ErrUnauthorized) {
			t.Fatalf("disabled operator logged in: %v", err)
		}
		// The last owner cannot be demoted.
		if _, err := ops.Update(ctx, owner, boss.ID, operators.Input{Role: "admin", AllTenants: true}); !is(err, core.ErrInvalid) {
			t.Fatalf("last owner demoted: %v", err)
		}
		// Reset: new password works, old sessions end.
		bossToken, _, _, _ := s.Login(ctx, "boss@x.io", "boss password 123", "", "", "")
		cli := auth.Actor{Type: auth.ActorCLI, ID: "cli", AllTenants: true}
		if _, err := ops.ResetPassword(ctx, cli, "boss@x.io", "a brand new password"); err != nil {
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
