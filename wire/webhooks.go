package wire

import (
	"encoding/json"
	"time"
)

// WebhookSource is a source in API responses (secrets only as hints).
type WebhookSource struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	Provider     string            `json:"provider"`
	IngestURL    string            `json:"ingest_url"`
	Secrets      []SecretHint      `json:"secrets"`
	Tolerance    string            `json:"tolerance"`
	ForwardURL   string            `json:"forward_url"`
	ForwardTypes []string          `json:"forward_types"`
	Settings     map[string]string `json:"settings"`
	Billing      bool              `json:"billing"`
	CreatedAt    time.Time         `json:"created_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
}

// SecretHint names a stored secret without revealing it.
type SecretHint struct {
	Hint      string     `json:"hint"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// WebhookRejection is a refused delivery in API responses.
type WebhookRejection struct {
	ID         string          `json:"id"`
	Code       string          `json:"code"`
	Detail     string          `json:"detail"`
	Headers    json.RawMessage `json:"headers"`
	Size       int             `json:"size"`
	RemoteIP   string          `json:"remote_ip"`
	ReceivedAt time.Time       `json:"received_at"`
}

// WebhookEvent is an event in API responses; Body is the raw body as text
// (BodyBase64 when it is not valid UTF-8) on the single-event route only.
type WebhookEvent struct {
	ID              string            `json:"id"`
	Source          string            `json:"source"`
	ProviderEventID string            `json:"provider_event_id"`
	Type            string            `json:"type"`
	Status          string            `json:"status"`
	ContentType     string            `json:"content_type"`
	Verification    string            `json:"verification"`
	ForwardJobID    string            `json:"forward_job_id"`
	CorrelationID   string            `json:"correlation_id"`
	ReceivedAt      time.Time         `json:"received_at"`
	Headers         map[string]string `json:"headers,omitempty"`
	Body            *string           `json:"body,omitempty"`
}

// WebhookSecret is a provider's signing secret; ExpiresAt retires it (for
// rotation at the provider).
type WebhookSecret struct {
	Secret    string     `json:"secret"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// WebhookSourcePut creates or replaces a webhook source. The fields after
// ForwardTypes configure the generic "hmac" provider.
type WebhookSourcePut struct {
	// Provider is stripe, github, shopify, slack, twilio,
	// standard_webhooks, svix or hmac.
	Provider string          `json:"provider"`
	Secrets  []WebhookSecret `json:"secrets"`
	// Tolerance is the timestamp tolerance, such as "300s" (the default).
	Tolerance  string `json:"tolerance,omitempty"`
	ForwardURL string `json:"forward_url,omitempty"`
	// ForwardTypes forwards only these event types (default: all).
	ForwardTypes []string `json:"forward_types,omitempty"`
	Header       string   `json:"header,omitempty"`
	Algorithm    string   `json:"algorithm,omitempty"`
	Encoding     string   `json:"encoding,omitempty"`
	Prefix       string   `json:"prefix,omitempty"`
	IDHeader     string   `json:"id_header,omitempty"`
	IDPointer    string   `json:"id_pointer,omitempty"`
	TypePointer  string   `json:"type_pointer,omitempty"`
	// ContactPointer is a JSON pointer to the app's contact id in the body
	// (e.g. /data/user_id): events naming a known contact land on its timeline.
	ContactPointer string `json:"contact_pointer,omitempty"`
	// Billing, for a stripe source, turns the built-in billing handler on
	// or off (nil: on).
	Billing *bool `json:"billing,omitempty"`
}

// IngestResult answers an accepted delivery to /in/{tenant}/{source}.
type IngestResult struct {
	// Duplicate is true when the provider's event id was already stored.
	Duplicate bool   `json:"duplicate"`
	ID        string `json:"id"`
}

// WebhookReplayResult answers POST /v1/webhook-events/replay.
type WebhookReplayResult struct {
	Replayed int `json:"replayed"`
}
