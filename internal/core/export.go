package core

import (
	"context"
	"fmt"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/store"
)

// The helpers below let the other systems (jobs, webhooks, email...) report
// errors and write audit entries the same way core does.

// Invalid is a 400-kind error with a stable code.
func Invalid(code, format string, args ...any) error { return invalid(code, format, args...) }

// NotFound is a 404-kind error.
func NotFound(format string, args ...any) error { return notFound(format, args...) }

// Forbidden is a 403-kind error.
func Forbidden(format string, args ...any) error { return forbidden(format, args...) }

// Conflict is a 409-kind error naming the existing object when known.
func Conflict(code, existingID, format string, args ...any) error {
	return &Error{Kind: ErrConflict, Code: code, Message: fmt.Sprintf(format, args...), ExistingID: existingID}
}

// Need returns a forbidden error unless the actor holds permission p.
func Need(a auth.Actor, p auth.Permission) error { return need(a, p) }

// TenantAccess checks reach (not found outside it) then permission.
func (s *Service) TenantAccess(a auth.Actor, tenantID string, p auth.Permission) error {
	return s.tenantAccess(a, tenantID, p)
}

// Audit appends an audit entry in tx (the transaction of the change).
func (s *Service) Audit(ctx context.Context, tx *store.Tx, a auth.Actor, tenantID, action, targetType, targetID string, summary any) error {
	return s.audit(ctx, tx, a, tenantID, action, targetType, targetID, summary)
}
