package httpapi

import (
	"time"

	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// Conversions from the store's records to the API's shapes (package wire).

func tenantView(t store.Tenant) wire.Tenant {
	return wire.Tenant{ID: t.ID, Slug: t.Slug, Name: t.Name, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

func keyView(k store.APIKey) wire.Key {
	return wire.Key{ID: k.ID, TenantID: k.TenantID, Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
}

func contactView(c store.Contact) wire.Contact {
	return wire.Contact{ID: c.ID, ExternalID: c.ExternalID, Email: c.Email, Name: c.Name, Locale: c.Locale, Timezone: c.Timezone,
		Metadata: c.Metadata, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

func timelineView(e store.TimelineEntry) wire.TimelineEntry {
	return wire.TimelineEntry{ID: e.ID, Kind: e.Kind, Summary: e.Summary, RefType: e.RefType, RefID: e.RefID, CorrelationID: e.CorrelationID, CreatedAt: e.CreatedAt}
}

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
