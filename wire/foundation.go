package wire

import (
	"encoding/json"
	"time"
)

// Tenant is a tenant in API responses.
type Tenant struct {
	ID        string    `json:"id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
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

// TenantCreate creates a tenant.
type TenantCreate struct {
	Slug string `json:"slug"`
	Name string `json:"name,omitempty"`
}

// ContactUpsert creates or updates a contact: nil fields keep their value.
type ContactUpsert struct {
	Email    *string         `json:"email,omitempty"`
	Name     *string         `json:"name,omitempty"`
	Locale   *string         `json:"locale,omitempty"`
	Timezone *string         `json:"timezone,omitempty"`
	Metadata json.RawMessage `json:"metadata,omitempty"`
}
