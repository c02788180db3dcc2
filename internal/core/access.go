package core

import "github.com/joist-dev/joist/internal/auth"

// Access checks: what an actor may do (its role's permissions) and which
// tenants it reaches. Every operation of every system calls one of these
// before it reads or writes; a tenant out of reach is not found, so ids
// cannot be probed.

func need(a auth.Actor, p auth.Permission) error {
	if !a.Can(p) {
		return forbidden("your role (%s) may not do this: it needs the %q permission (see docs/roles.md)", a.RoleName(), p)
	}
	return nil
}

// tenantAccess checks reach (404 outside it) and then permission (403).
func (s *Service) tenantAccess(a auth.Actor, tenantID string, p auth.Permission) error {
	if tenantID == "" || !a.SeesTenant(tenantID) {
		return notFound("tenant not found")
	}
	return need(a, p)
}

// Need returns a forbidden error unless the actor holds permission p.
func Need(a auth.Actor, p auth.Permission) error { return need(a, p) }

// TenantAccess checks reach (not found outside it) then permission.
func (s *Service) TenantAccess(a auth.Actor, tenantID string, p auth.Permission) error {
	return s.tenantAccess(a, tenantID, p)
}
