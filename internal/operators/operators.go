// Package operators is the foundation's operators: inviting people to the
// dashboard, changing their role, tenant reach and disabled state, the
// command line's create and password reset, and the dashboard's operator
// pages.
//
// Signing in (login, sessions, accepting an invite by setting a password)
// is the admin shell's, and reading operators is the kit's (core, store).
package operators

import (
	"context"
	"errors"
	"log/slog"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
)

// Service invites, changes and creates operators.
type Service struct {
	db        *store.DB
	core      *core.Service
	log       *slog.Logger
	now       func() time.Time
	inviteTTL time.Duration
}

// Options tune the service.
type Options struct {
	// InviteTTL is how long an invite link may be used (0: 7 days).
	InviteTTL time.Duration
}

// New returns the operators service.
func New(d core.Deps, c *core.Service, opts Options) *Service {
	d = d.For("operators")
	if opts.InviteTTL == 0 {
		opts.InviteTTL = 7 * 24 * time.Hour
	}
	return &Service{db: d.DB, core: c, log: d.Log, now: d.Now, inviteTTL: opts.InviteTTL}
}

// Input invites or changes an operator.
type Input struct {
	Email      string
	Name       string
	Role       string
	AllTenants bool
	TenantIDs  []string
	Disabled   bool
}

func (s *Service) checkInput(ctx context.Context, a auth.Actor, in *Input) (auth.Role, error) {
	role, err := auth.ParseRole(in.Role)
	if err != nil {
		return "", core.Invalid("invalid_role", "%v", err)
	}
	if err := core.Need(a, auth.PermOperatorsWrite); err != nil {
		return "", err
	}
	if role == auth.RoleOwner && !a.Can(auth.PermOwnersWrite) {
		return "", core.Forbidden("only an owner may grant the owner role")
	}
	if in.AllTenants && !a.AllTenants {
		return "", core.Forbidden("you reach only some tenants, so you cannot grant access to all tenants")
	}
	if !in.AllTenants {
		if len(in.TenantIDs) == 0 {
			return "", core.Invalid("invalid_scope", "choose all tenants or at least one tenant")
		}
		slices.Sort(in.TenantIDs)
		in.TenantIDs = slices.Compact(in.TenantIDs)
		err := s.db.Read(ctx, func(tx *store.Tx) error {
			for _, t := range in.TenantIDs {
				if _, err := tx.TenantGet(ctx, t); err != nil || !a.SeesTenant(t) {
					return core.Invalid("invalid_scope", "tenant %q does not exist or is outside your reach", t)
				}
			}
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	if utf8.RuneCountInString(in.Name) > 200 {
		return "", core.Invalid("invalid_name", "name is %d characters long; the limit is 200", utf8.RuneCountInString(in.Name))
	}
	return role, nil
}

// Invite creates an operator without a password and returns a
// one-time invite token (valid InviteTTL) with which they set one.
func (s *Service) Invite(ctx context.Context, a auth.Actor, in Input) (store.Operator, string, error) {
	in.Email = strings.ToLower(strings.TrimSpace(in.Email))
	if addr, err := mail.ParseAddress(in.Email); err != nil || addr.Address != in.Email {
		return store.Operator{}, "", core.Invalid("invalid_email", "email %q is not a plain address such as ann@example.com", in.Email)
	}
	role, err := s.checkInput(ctx, a, &in)
	if err != nil {
		return store.Operator{}, "", err
	}
	now := s.now()
	o := store.Operator{ID: store.NewID(store.PrefixOperator), Email: in.Email, Name: strings.TrimSpace(in.Name), Role: string(role),
		AllTenants: in.AllTenants, TenantIDs: in.TenantIDs, CreatedAt: now, UpdatedAt: now}
	if in.AllTenants {
		o.TenantIDs = nil
	}
	token := auth.RandomToken(32)
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.OperatorInsert(ctx, o); err != nil {
			return err
		}
		if err := inviteInsert(tx, ctx, auth.HashToken(token), o.ID, now, now.Add(s.inviteTTL)); err != nil {
			return err
		}
		return s.core.Audit(ctx, tx, a, "", "operator.invite", "operator", o.ID, map[string]any{"after": core.OperatorSummary(o)})
	})
	if errors.Is(err, store.ErrConflict) {
		return store.Operator{}, "", core.Conflict("email_taken", "", "an operator with that email already exists")
	}
	return o, token, err
}

// Update changes an operator's name, role, scope or disabled state.
// Disabling revokes their sessions. The last enabled owner cannot be demoted.
func (s *Service) Update(ctx context.Context, a auth.Actor, id string, in Input) (store.Operator, error) {
	role, err := s.checkInput(ctx, a, &in)
	if err != nil {
		return store.Operator{}, err
	}
	var o store.Operator
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		before, err := tx.OperatorGet(ctx, id)
		if err != nil {
			return err
		}
		if auth.Role(before.Role) == auth.RoleOwner && !a.Can(auth.PermOwnersWrite) {
			return core.Forbidden("only an owner may change an owner")
		}
		if !a.AllTenants && (before.AllTenants || !subset(before.TenantIDs, a.TenantIDs)) {
			return core.Forbidden("this operator reaches tenants outside your reach")
		}
		now := s.now()
		o = before
		o.Name, o.Role, o.AllTenants, o.TenantIDs, o.UpdatedAt = strings.TrimSpace(in.Name), string(role), in.AllTenants, in.TenantIDs, now
		if in.AllTenants {
			o.TenantIDs = nil
		}
		switch {
		case in.Disabled && o.DisabledAt == nil:
			o.DisabledAt = &now
		case !in.Disabled:
			o.DisabledAt = nil
		}
		if before.Role == string(auth.RoleOwner) && before.DisabledAt == nil && (o.Role != string(auth.RoleOwner) || o.DisabledAt != nil) {
			ops, err := tx.OperatorList(ctx)
			if err != nil {
				return err
			}
			owners := 0
			for _, x := range ops {
				if x.Role == string(auth.RoleOwner) && x.DisabledAt == nil {
					owners++
				}
			}
			if owners <= 1 {
				return core.Invalid("last_owner", "this is the last enabled owner; make someone else owner first")
			}
		}
		if err := operatorUpdate(ctx, tx, o); err != nil {
			return err
		}
		if o.DisabledAt != nil {
			if err := tx.SessionRevokeOperator(ctx, o.ID, now); err != nil {
				return err
			}
		}
		return s.core.Audit(ctx, tx, a, "", "operator.update", "operator", o.ID, map[string]any{"before": core.OperatorSummary(before), "after": core.OperatorSummary(o)})
	})
	if errors.Is(err, store.ErrNotFound) {
		return o, core.NotFound("operator %q not found", id)
	}
	return o, err
}

func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// ResetPassword sets a new password by email (the CLI's reset for an
// owner who lost theirs) and revokes the operator's sessions.
func (s *Service) ResetPassword(ctx context.Context, a auth.Actor, email, password string) (store.Operator, error) {
	hash, err := auth.HashPassword(password)
	if err != nil {
		return store.Operator{}, core.Invalid("weak_password", "%v", err)
	}
	var o store.Operator
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if o, err = tx.OperatorByEmail(ctx, email); err != nil {
			return err
		}
		now := s.now()
		if err := tx.OperatorSetPassword(ctx, o.ID, hash, now); err != nil {
			return err
		}
		if err := tx.SessionRevokeOperator(ctx, o.ID, now); err != nil {
			return err
		}
		return s.core.Audit(ctx, tx, a, "", "operator.reset_password", "operator", o.ID, nil)
	})
	if errors.Is(err, store.ErrNotFound) {
		return o, core.NotFound("no operator has the email %q", email)
	}
	return o, err
}

// Create creates an operator with a password at once (CLI bootstrap).
func (s *Service) Create(ctx context.Context, a auth.Actor, in Input, password string) (store.Operator, error) {
	in.Email = strings.ToLower(strings.TrimSpace(in.Email))
	if addr, err := mail.ParseAddress(in.Email); err != nil || addr.Address != in.Email {
		return store.Operator{}, core.Invalid("invalid_email", "email %q is not a plain address such as ann@example.com", in.Email)
	}
	role, err := s.checkInput(ctx, a, &in)
	if err != nil {
		return store.Operator{}, err
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return store.Operator{}, core.Invalid("weak_password", "%v", err)
	}
	now := s.now()
	o := store.Operator{ID: store.NewID(store.PrefixOperator), Email: in.Email, Name: in.Name, Role: string(role),
		AllTenants: in.AllTenants, TenantIDs: in.TenantIDs, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	if in.AllTenants {
		o.TenantIDs = nil
	}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.OperatorInsert(ctx, o); err != nil {
			return err
		}
		return s.core.Audit(ctx, tx, a, "", "operator.create", "operator", o.ID, map[string]any{"after": core.OperatorSummary(o)})
	})
	if errors.Is(err, store.ErrConflict) {
		return store.Operator{}, core.Conflict("email_taken", "", "an operator with that email already exists")
	}
	return o, err
}
