package httpapi

import (
	"encoding/json"
	"time"

	"github.com/joist-dev/joist/internal/store"
)

// The JSON shapes of the API. /openapi.json describes the same shapes.

// Tenant is a tenant in API responses.
type Tenant struct {
	ID        string    `json:"id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func tenantView(t store.Tenant) Tenant {
	return Tenant{ID: t.ID, Slug: t.Slug, Name: t.Name, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

// Key is an API key in responses; Key (the secret) is set only on create.
type Key struct {
	ID         string     `json:"id"`
	TenantID   string     `json:"tenant_id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Key        string     `json:"key,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

func keyView(k store.APIKey) Key {
	return Key{ID: k.ID, TenantID: k.TenantID, Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
}

// Contact is a contact in responses.
type Contact struct {
	ID         string          `json:"id"`
	ExternalID string          `json:"external_id"`
	Email      string          `json:"email"`
	Name       string          `json:"name"`
	Locale     string          `json:"locale"`
	Timezone   string          `json:"timezone"`
	Metadata   json.RawMessage `json:"metadata"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
}

func contactView(c store.Contact) Contact {
	return Contact{ID: c.ID, ExternalID: c.ExternalID, Email: c.Email, Name: c.Name, Locale: c.Locale, Timezone: c.Timezone,
		Metadata: c.Metadata, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// TimelineEntry is a timeline entry in responses.
type TimelineEntry struct {
	ID            string    `json:"id"`
	Kind          string    `json:"kind"`
	Summary       string    `json:"summary"`
	RefType       string    `json:"ref_type"`
	RefID         string    `json:"ref_id"`
	CorrelationID string    `json:"correlation_id"`
	CreatedAt     time.Time `json:"created_at"`
}

func timelineView(e store.TimelineEntry) TimelineEntry {
	return TimelineEntry{ID: e.ID, Kind: e.Kind, Summary: e.Summary, RefType: e.RefType, RefID: e.RefID, CorrelationID: e.CorrelationID, CreatedAt: e.CreatedAt}
}

// AuditEntry is an audit entry in responses.
type AuditEntry struct {
	ID            string          `json:"id"`
	TenantID      string          `json:"tenant_id"`
	ActorType     string          `json:"actor_type"`
	ActorID       string          `json:"actor_id"`
	ActorRole     string          `json:"actor_role"`
	Action        string          `json:"action"`
	TargetType    string          `json:"target_type"`
	TargetID      string          `json:"target_id"`
	Summary       json.RawMessage `json:"summary"`
	IP            string          `json:"ip"`
	CorrelationID string          `json:"correlation_id"`
	CreatedAt     time.Time       `json:"created_at"`
}

func auditView(e store.AuditEntry) AuditEntry {
	return AuditEntry{ID: e.ID, TenantID: e.TenantID, ActorType: e.ActorType, ActorID: e.ActorID, ActorRole: e.ActorRole, Action: e.Action,
		TargetType: e.TargetType, TargetID: e.TargetID, Summary: e.Summary, IP: e.IP, CorrelationID: e.CorrelationID, CreatedAt: e.CreatedAt}
}

func mapSlice[T, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}
