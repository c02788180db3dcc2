package httpapi

import (
	"time"

	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// Conversions from the store's records to the API's shapes (package wire).

func auditView(e store.AuditEntry) wire.AuditEntry {
	return wire.AuditEntry{ID: e.ID, TenantID: e.TenantID, ActorType: e.ActorType, ActorID: e.ActorID, ActorRole: e.ActorRole, Action: e.Action,
		TargetType: e.TargetType, TargetID: e.TargetID, Summary: e.Summary, IP: e.IP, CorrelationID: e.CorrelationID, CreatedAt: e.CreatedAt}
}

// UTCPtr is t in UTC, or nil.
func UTCPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// Items is a list without paging (wire.Items).
type Items[T any] = wire.Items[T]

// MapSlice applies f to every element of in.
func MapSlice[T, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}
