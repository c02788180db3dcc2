package wire

import (
	"encoding/json"
	"time"
)

// FeedItem is one notification in a contact's in-app feed (GET /v1/feed,
// and the data of the stream's notification and state events).
type FeedItem struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	Body       string          `json:"body"`
	URL        string          `json:"url"`
	Data       json.RawMessage `json:"data"`
	SeenAt     *time.Time      `json:"seen_at"`
	ReadAt     *time.Time      `json:"read_at"`
	ArchivedAt *time.Time      `json:"archived_at"`
	CreatedAt  time.Time       `json:"created_at"`
	// Seq is the contact's feed sequence number when the notification
	// entered the feed.
	Seq int64 `json:"seq"`
}

// FeedCounts are a contact's unread and unseen notifications, archived
// ones excluded (GET /v1/feed/counts, the stream's counts event).
type FeedCounts struct {
	Unread int `json:"unread"`
	Unseen int `json:"unseen"`
}

// FeedReadAll answers POST /v1/feed/read-all: how many notifications it
// marked read.
type FeedReadAll struct {
	Updated int `json:"updated"`
}

// ContactTokenCreate asks for a contact token (POST
// /v1/contacts/{contact}/tokens).
type ContactTokenCreate struct {
	// TTL is the token's lifetime, a Go duration (default "1h", at most "24h").
	TTL string `json:"ttl,omitempty"`
}

// ContactToken is a contact token for an end user's browser or phone: a
// JWT (HS256) signed with the tenant's feed secret.
type ContactToken struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// FeedSecret is the tenant's current feed secret, with which the app may
// sign contact tokens itself (JWT HS256, the secret's bytes as the key,
// kid in the header), and the previous secrets still valid.
type FeedSecret struct {
	Kid       string           `json:"kid"`
	Secret    string           `json:"secret"`
	CreatedAt time.Time        `json:"created_at"`
	Previous  []FeedSecretPrev `json:"previous"`
}

// FeedSecretPrev is a previous feed secret that still verifies until
// ExpiresAt.
type FeedSecretPrev struct {
	Kid       string    `json:"kid"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// NotificationSettings are a tenant's notification settings.
type NotificationSettings struct {
	// AllowedOrigins are the browser origins (scheme://host[:port]) that
	// may call the feed routes (CORS).
	AllowedOrigins []string `json:"allowed_origins"`
	// VAPIDSubject is the contact address of web push (mailto: or https:).
	VAPIDSubject string `json:"vapid_subject"`
}
