package notify

import (
	"context"
	"time"

	"github.com/joist-dev/joist/internal/store"
)

// Kinds of feed_log entries.
const (
	FeedNew   = "notification" // a notification entered the contact's feed
	FeedState = "state"        // a notification's seen, read or archived state changed
)

// FeedChange is one entry of a contact's feed log: what a stream sends
// with Seq as its event id.
type FeedChange struct {
	TenantID, ContactID string
	Seq                 int64
	Kind                string
	NotificationID      string
}

// FeedNotifier learns of feed changes once they are committed, so streams
// on every node can send them (the feed's broker: LISTEN/NOTIFY on
// PostgreSQL, in process on SQLite). A change it misses (a crash between
// commit and the call) is still in feed_log, where a resuming stream
// finds it.
type FeedNotifier interface {
	FeedChanged(ctx context.Context, changes []FeedChange)
}

// feedAppend takes the contact's next feed sequence number and logs the
// change under it, in tx (the transaction of the change itself), so the
// sequence is monotonic across nodes: the row lock on feed_sequences
// orders concurrent writers on PostgreSQL, the single writer on SQLite.
func feedAppend(ctx context.Context, tx *store.Tx, tenantID, contactID, kind, notificationID string, now time.Time) (FeedChange, error) {
	c := FeedChange{TenantID: tenantID, ContactID: contactID, Kind: kind, NotificationID: notificationID}
	err := tx.QueryRow(ctx, `INSERT INTO feed_sequences (tenant_id, contact_id, seq) VALUES (?, ?, 1)
		ON CONFLICT (tenant_id, contact_id) DO UPDATE SET seq = feed_sequences.seq + 1
		RETURNING seq`, tenantID, contactID).Scan(&c.Seq)
	if err != nil {
		return c, err
	}
	_, err = tx.Exec(ctx, `INSERT INTO feed_log (tenant_id, contact_id, seq, kind, notification_id, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		tenantID, contactID, c.Seq, kind, notificationID, now)
	return c, err
}
