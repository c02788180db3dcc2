package wire

import "time"

// VAPIDPublicKey is GET /v1/push/vapid-public-key's answer: the tenant's
// VAPID public key, base64url without padding, to pass as
// applicationServerKey to PushManager.subscribe().
type VAPIDPublicKey struct {
	PublicKey string `json:"public_key"`
}

// PushSubscriptionKeys are a PushSubscription's keys, base64url.
type PushSubscriptionKeys struct {
	// P256dh is the browser's P-256 public key (65 bytes decoded).
	P256dh string `json:"p256dh"`
	// Auth is the auth secret (16 bytes decoded).
	Auth string `json:"auth"`
}

// PushSubscriptionInput is POST /v1/push/subscriptions' body: what
// PushSubscription.toJSON() gives in a browser.
type PushSubscriptionInput struct {
	Endpoint string               `json:"endpoint"`
	Keys     PushSubscriptionKeys `json:"keys"`
	// ExpirationTime is when the subscription expires, in milliseconds
	// since the epoch (browsers send null for none).
	ExpirationTime *int64 `json:"expirationTime"`
}

// PushSubscriptionDelete is DELETE /v1/push/subscriptions' body: the
// endpoint to forget (a whole PushSubscription JSON is accepted too).
type PushSubscriptionDelete struct {
	Endpoint       string                `json:"endpoint"`
	Keys           *PushSubscriptionKeys `json:"keys,omitempty"`
	ExpirationTime *int64                `json:"expirationTime,omitempty"`
}

// PushSubscription is a stored web push subscription.
type PushSubscription struct {
	ID             string     `json:"id"`
	Endpoint       string     `json:"endpoint"`
	ExpirationTime *time.Time `json:"expiration_time"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// DeviceInput is the body of POST and DELETE
// /v1/contacts/{contact}/devices: a phone's registration token.
type DeviceInput struct {
	// Platform is fcm (Firebase Cloud Messaging: Android, or iOS through
	// Firebase) or apns (Apple's push service directly).
	Platform string `json:"platform"`
	// Token is the FCM registration token or the APNs device token (hex).
	Token string `json:"token"`
}

// Device is a contact's push target: a phone (platform fcm or apns,
// with its token) or a browser (platform web, with its endpoint).
type Device struct {
	ID        string    `json:"id"`
	Platform  string    `json:"platform"`
	Token     string    `json:"token,omitempty"`
	Endpoint  string    `json:"endpoint,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}
