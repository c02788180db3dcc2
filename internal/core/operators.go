package core

import (
	"context"
	"errors"
	"net/mail"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/store"
)

// OperatorInput invites or changes an operator.
type OperatorInput struct {
	Email      string
	Name       string
	Role       string
	AllTenants bool
	TenantIDs  []string
	Disabled   bool
}

func (s *Service) checkOperatorInput(ctx context.Context, a auth.Actor, in *OperatorInput) (auth.Role, error) {
	role, err := auth.ParseRole(in.Role)
	if err != nil {
		return "", invalid("invalid_role", "%v", err)
	}
	if err := need(a, auth.PermOperatorsWrite); err != nil {
		return "", err
	}
	if role == auth.RoleOwner && !a.Can(auth.PermOwnersWrite) {
		return "", forbidden("only an owner may grant the owner role")
	}
	if in.AllTenants && !a.AllTenants {
		return "", forbidden("you reach only some tenants, so you cannot grant access to all tenants")
	}
	if !in.AllTenants {
		if len(in.TenantIDs) == 0 {
			return "", invalid("invalid_scope", "choose all tenants or at least one tenant")
		}
		slices.Sort(in.TenantIDs)
		in.TenantIDs = slices.Compact(in.TenantIDs)
		err := s.db.Read(ctx, func(tx *store.Tx) error {
			for _, t := range in.TenantIDs {
				if _, err := tx.TenantGet(ctx, t); err != nil || !a.SeesTenant(t) {
					return invalid("invalid_scope", "tenant %q does not exist or is outside your reach", t)
				}
			}
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	if utf8.RuneCountInString(in.Name) > 200 {
		return "", invalid("invalid_name", "name is %d characters long; the limit is 200", utf8.RuneCountInString(in.Name))
	}
	return role, nil
}

// OperatorInvite creates an operator without a password and returns a
// one-time invite token (valid InviteTTL) with which they set one.
func (s *Service) OperatorInvite(ctx context.Context, a auth.Actor, in OperatorInput) (store.Operator, string, error) {
	in.Email = strings.ToLower(strings.TrimSpace(in.Email))
	if addr, err := mail.ParseAddress(in.Email); err != nil || addr.Address != in.Email {
		return store.Operator{}, "", invalid("invalid_email", "email %q is not a plain address such as ann@example.com", in.Email)
	}
	role, err := s.checkOperatorInput(ctx, a, &in)
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
		if err := tx.InviteInsert(ctx, auth.HashToken(token), o.ID, now, now.Add(s.opts.InviteTTL)); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "", "operator.invite", "operator", o.ID, map[string]any{"after": scopeSummary(o)})
	})
	if errors.Is(err, store.ErrConflict) {
		return store.Operator{}, "", conflict("email_taken", "an operator with that email already exists")
	}
	return o, token, err
}

func scopeSummary(o store.Operator) map[string]any {
	return map[string]any{"role": o.Role, "all_tenants": o.AllTenants, "tenants": o.TenantIDs, "disabled": o.DisabledAt != nil}
}

// OperatorUpdate changes an operator's name, role, scope or disabled state.
// Disabling revokes their sessions. The last enabled owner cannot be demoted.
func (s *Service) OperatorUpdate(ctx context.Context, a auth.Actor, id string, in OperatorInput) (store.Operator, error) {
	role, err := s.checkOperatorInput(ctx, a, &in)
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
			return forbidden("only an owner may change an owner")
		}
		if !a.AllTenants && (before.AllTenants || !subset(before.TenantIDs, a.TenantIDs)) {
			return forbidden("this operator reaches tenants outside your reach")
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
				return invalid("last_owner", "this is the last enabled owner; make someone else owner first")
			}
		}
		if err := tx.OperatorUpdate(ctx, o); err != nil {
			return err
		}
		if o.DisabledAt != nil {
			if err := tx.SessionRevokeOperator(ctx, o.ID, now); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, a, "", "operator.update", "operator", o.ID, map[string]any{"before": scopeSummary(before), "after": scopeSummary(o)})
	})
	if errors.Is(err, store.ErrNotFound) {
		return o, notFound("operator %q not found", id)
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

// OperatorList lists operators. An actor reaching only some tenants sees the
// operators whose reach lies within theirs.
func (s *Service) OperatorList(ctx context.Context, a auth.Actor) ([]store.Operator, error) {
	if err := need(a, auth.PermRead); err != nil {
		return nil, err
	}
	var ops []store.Operator
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		ops, err = tx.OperatorList(ctx)
		return err
	})
	if err != nil || a.AllTenants {
		return ops, err
	}
	out := []store.Operator{}
	for _, o := range ops {
		if !o.AllTenants && subset(o.TenantIDs, a.TenantIDs) {
			out = append(out, o)
		}
	}
	return out, nil
}

// OperatorAcceptInvite sets the password of an invited operator.
func (s *Service) OperatorAcceptInvite(ctx context.Context, token, password string) (store.Operator, error) {
	hash, err := auth.HashPassword(password)
	if err != nil {
		return store.Operator{}, invalid("weak_password", "%v", err)
	}
	var o store.Operator
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		id, err := tx.InviteUse(ctx, auth.HashToken(token), s.now())
		if err != nil {
			return err
		}
		if err := tx.OperatorSetPassword(ctx, id, hash, s.now()); err != nil {
			return err
		}
		if o, err = tx.OperatorGet(ctx, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, auth.Actor{Type: auth.ActorOperator, ID: id, Role: auth.Role(o.Role)}, "", "operator.accept_invite", "operator", id, nil)
	})
	if errors.Is(err, store.ErrNotFound) {
		return o, notFound("this invite link is invalid, used or expired; ask an admin for a new one")
	}
	return o, err
}

// InviteValid reports whether an invite token can still be used.
func (s *Service) InviteValid(ctx context.Context, token string) bool {
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		_, err := tx.InviteValid(ctx, auth.HashToken(token), s.now())
		return err
	})
	return err == nil
}

// OperatorResetPassword sets a new password by email (the CLI's reset for an
// owner who lost theirs) and revokes the operator's sessions.
func (s *Service) OperatorResetPassword(ctx context.Context, a auth.Actor, email, password string) (store.Operator, error) {
	hash, err := auth.HashPassword(password)
	if err != nil {
		return store.Operator{}, invalid("weak_password", "%v", err)
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
		return s.audit(ctx, tx, a, "", "operator.reset_password", "operator", o.ID, nil)
	})
	if errors.Is(err, store.ErrNotFound) {
		return o, notFound("no operator has the email %q", email)
	}
	return o, err
}

// OperatorCreate creates an operator with a password at once (CLI bootstrap).
func (s *Service) OperatorCreate(ctx context.Context, a auth.Actor, in OperatorInput, password string) (store.Operator, error) {
	in.Email = strings.ToLower(strings.TrimSpace(in.Email))
	if addr, err := mail.ParseAddress(in.Email); err != nil || addr.Address != in.Email {
		return store.Operator{}, invalid("invalid_email", "email %q is not a plain address such as ann@example.com", in.Email)
	}
	role, err := s.checkOperatorInput(ctx, a, &in)
	if err != nil {
		return store.Operator{}, err
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return store.Operator{}, invalid("weak_password", "%v", err)
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
		return s.audit(ctx, tx, a, "", "operator.create", "operator", o.ID, map[string]any{"after": scopeSummary(o)})
	})
	if errors.Is(err, store.ErrConflict) {
		return store.Operator{}, conflict("email_taken", "an operator with that email already exists")
	}
	return o, err
}
