package wire

import (
	"encoding/json"
	"time"
)

// NotificationInApp is a type's in-app content: Go text/template source
// with the context {{.data}}, {{.contact}} and {{.tenant}}.
type NotificationInApp struct {
	Title string `json:"title"`
	Body  string `json:"body,omitempty"`
	URL   string `json:"url,omitempty"`
}

// NotificationEmail is a type's email channel: the email template (by
// name, the tenant's or the instance's) rendered in the contact's locale,
// sent from From.
type NotificationEmail struct {
	Template string `json:"template"`
	// From is the sender ("Acme <hello@acme.example>"); empty for the
	// instance's default (JOIST_NOTIFY_EMAIL_FROM).
	From string `json:"from,omitempty"`
}

// NotificationPush is a type's push content (text/template source).
type NotificationPush struct {
	Title string `json:"title"`
	Body  string `json:"body,omitempty"`
}

// NotificationChannels are the channels a type uses; a channel left out
// is never used for it.
type NotificationChannels struct {
	InApp *NotificationInApp `json:"in_app,omitempty"`
	Email *NotificationEmail `json:"email,omitempty"`
	Push  *NotificationPush  `json:"push,omitempty"`
}

// NotificationDigest makes a type a digest type: events for one contact
// and key inside Window become one delivery.
type NotificationDigest struct {
	// Window is a Go duration ("10m"), from 1 minute to 7 days.
	Window string `json:"window"`
	// Key is text/template source; events with the same rendered key are
	// gathered.
	Key string `json:"key,omitempty"`
}

// NotificationTypePut creates or replaces a notification type
// (PUT /v1/notification-types/{type}).
type NotificationTypePut struct {
	Channels NotificationChannels `json:"channels"`
	// Defaults is each channel's value for a contact without an override
	// (a channel left out defaults to on).
	Defaults map[string]bool `json:"defaults,omitempty"`
	// Critical types ignore opt-outs.
	Critical bool   `json:"critical,omitempty"`
	Group    string `json:"group,omitempty"`
	// Digest, when set, makes the type a digest type.
	Digest *NotificationDigest `json:"digest,omitempty"`
}

// NotificationType is a stored notification type.
type NotificationType struct {
	Name string `json:"name"`
	// Owner is "tenant" (the tenant's own) or "instance" (the instance's,
	// used while the tenant has none of the name).
	Owner     string               `json:"owner"`
	Channels  NotificationChannels `json:"channels"`
	Defaults  map[string]bool      `json:"defaults"`
	Critical  bool                 `json:"critical"`
	Group     string               `json:"group"`
	Digest    *NotificationDigest  `json:"digest,omitempty"`
	CreatedAt time.Time            `json:"created_at"`
	UpdatedAt time.Time            `json:"updated_at"`
}

// NotifyRecipient is an inline recipient of an event: the contact with
// external id ID is created, or updated with the fields given.
type NotifyRecipient struct {
	ID     string  `json:"id"`
	Email  *string `json:"email,omitempty"`
	Name   *string `json:"name,omitempty"`
	Locale *string `json:"locale,omitempty"`
}

// NotifyEventPost posts an event (POST /v1/events). Each recipient is a
// contact's external id (a JSON string) or a NotifyRecipient object.
type NotifyEventPost struct {
	Type       string            `json:"type"`
	Recipients []json.RawMessage `json:"recipients"`
	Data       json.RawMessage   `json:"data,omitempty"`
	// Actor names who or what caused the event (shown with it).
	Actor string `json:"actor,omitempty"`
}

// NotifyEventSkip is a recipient the fan-out skipped, with why.
type NotifyEventSkip struct {
	Recipient string `json:"recipient"`
	Reason    string `json:"reason"`
}

// NotifyEvent is a posted event and its fan-out's progress.
type NotifyEvent struct {
	ID     string          `json:"id"`
	Type   string          `json:"type"`
	Data   json.RawMessage `json:"data"`
	Actor  string          `json:"actor"`
	Status string          `json:"status"` // pending, fanning_out, done
	// Recipients is how many were given; Notified how many got a
	// notification; Skipped how many did not (Skips says why, on GET).
	Recipients    int               `json:"recipients"`
	Notified      int               `json:"notified"`
	Skipped       int               `json:"skipped"`
	Skips         []NotifyEventSkip `json:"skips,omitempty"`
	JobID         string            `json:"job_id"`
	CorrelationID string            `json:"correlation_id"`
	CreatedAt     time.Time         `json:"created_at"`
	CompletedAt   *time.Time        `json:"completed_at,omitempty"`
}

// NotificationDelivery is one channel's outcome for a notification:
// queued, sent, delivered, skipped (Reason) or failed (Detail). Target
// names what it went to (an email's id, a device).
type NotificationDelivery struct {
	ID        string    `json:"id"`
	Channel   string    `json:"channel"`
	Status    string    `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	Detail    string    `json:"detail,omitempty"`
	Target    string    `json:"target,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Notification is one recipient's notification of an event.
type Notification struct {
	ID         string                 `json:"id"`
	Event      string                 `json:"event"`
	Contact    string                 `json:"contact"` // external id
	Type       string                 `json:"type"`
	Title      string                 `json:"title"`
	Body       string                 `json:"body"`
	URL        string                 `json:"url"`
	InFeed     bool                   `json:"in_feed"`
	Deliveries []NotificationDelivery `json:"deliveries"`
	CreatedAt  time.Time              `json:"created_at"`
}

// NotificationPreferencesPut replaces a contact's preference overrides:
// global channel switches, per group and per type (channel -> on).
type NotificationPreferencesPut struct {
	Channels map[string]bool            `json:"channels,omitempty"`
	Groups   map[string]map[string]bool `json:"groups,omitempty"`
	Types    map[string]map[string]bool `json:"types,omitempty"`
}

// NotificationPreference is the effective value of one type x channel
// and why: critical, type_on, type_off, group_on, group_off, channel_off
// or type_default.
type NotificationPreference struct {
	Type     string `json:"type"`
	Group    string `json:"group,omitempty"`
	Critical bool   `json:"critical"`
	Channel  string `json:"channel"`
	Enabled  bool   `json:"enabled"`
	Reason   string `json:"reason"`
}

// NotificationPreferences are a contact's overrides and the effective
// value of each type x channel the tenant's types define.
type NotificationPreferences struct {
	Overrides NotificationPreferencesPut `json:"overrides"`
	Effective []NotificationPreference   `json:"effective"`
}
