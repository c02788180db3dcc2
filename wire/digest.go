package wire

import "time"

// NotificationDigestView is GET /v1/digests/{digest}'s answer: a digest
// (the email and push deliveries of one contact's events of a digest type
// with one key, gathered over the type's window), the notifications it
// gathers (the first 100, oldest first; Count is them all) and its own
// deliveries, one per channel, made when its window closed.
type NotificationDigestView struct {
	ID      string `json:"id"`
	Contact string `json:"contact"` // external id
	Type    string `json:"type"`
	Key     string `json:"key"`
	// Status is open (events join it), closed (its window passed; its job
	// is due) or sent (its deliveries are planned).
	Status        string                 `json:"status"`
	Count         int                    `json:"count"`
	WindowStart   time.Time              `json:"window_start"`
	WindowEnd     time.Time              `json:"window_end"`
	JobID         string                 `json:"job_id"`
	CorrelationID string                 `json:"correlation_id"`
	Notifications []Notification         `json:"notifications"`
	Deliveries    []NotificationDelivery `json:"deliveries"`
	CreatedAt     time.Time              `json:"created_at"`
	SentAt        *time.Time             `json:"sent_at,omitempty"`
}
