package notify

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
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

// feedKey is one contact the dispatcher reads for: its feed log after
// After.
type feedKey struct {
	TenantID, ContactID string
	After               int64
}

// feedRead is what one dispatcher read found for a contact: its log
// entries after the key's After, in order, at most replayBatch of them
// (full says there may be more), and its counts when there were any.
type feedRead struct {
	entries []logEntry
	full    bool
	counts  wire.FeedCounts
}

// keysCTE is a WITH clause naming keys as k(t, c, s), with its arguments:
// one argument (a JSON array on SQLite, arrays on PostgreSQL) whatever the
// number of keys, so the statement's text (and plan) is always the same.
func keysCTE(tx *store.Tx, keys []feedKey) (string, []any) {
	if tx.Dialect() == store.Postgres {
		ts, cs, ss := make([]string, len(keys)), make([]string, len(keys)), make([]int64, len(keys))
		for i, k := range keys {
			ts[i], cs[i], ss[i] = k.TenantID, k.ContactID, k.After
		}
		return "WITH k(t, c, s) AS (SELECT * FROM unnest(?::text[], ?::text[], ?::bigint[]))", []any{ts, cs, ss}
	}
	rows := make([][3]any, len(keys))
	for i, k := range keys {
		rows[i] = [3]any{k.TenantID, k.ContactID, k.After}
	}
	b, _ := json.Marshal(rows) // strings and numbers: cannot fail
	return "WITH k(t, c, s) AS (SELECT value->>0, value->>1, value->>2 FROM json_each(?))", []any{string(b)}
}

// readFeeds reads, in one read transaction, the feed log entries of every
// key after its After (up to replayBatch each), and the counts of every
// key that has entries, by tenant + "\n" + contact (hubKey). Each
// contact's entries are its own: the join is on tenant and contact.
func (f *Feed) readFeeds(ctx context.Context, keys []feedKey) (map[string]*feedRead, error) {
	out := map[string]*feedRead{}
	err := f.db.Read(ctx, func(tx *store.Tx) error {
		clear(out)
		with, args := keysCTE(tx, keys)
		// CROSS JOIN keeps the keys as SQLite's outer loop (each a range
		// of feed_log's primary key); PostgreSQL plans it as a join.
		rows, err := tx.Query(ctx, with+` SELECT l.tenant_id, l.contact_id, l.seq, l.kind, n.`+feedColsN+`
			FROM k CROSS JOIN feed_log l
			LEFT JOIN notifications n ON n.id = l.notification_id AND n.tenant_id = l.tenant_id AND n.contact_id = l.contact_id AND n.in_feed
			WHERE l.tenant_id = k.t AND l.contact_id = k.c AND l.seq > k.s AND l.seq <= k.s + ?`, append(args, replayBatch)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var t, c string
			var e logEntry
			if err := scanLogEntry(rows, &e, &t, &c); err != nil {
				return err
			}
			r := out[hubKey(t, c)]
			if r == nil {
				r = &feedRead{}
				out[hubKey(t, c)] = r
			}
			r.entries = append(r.entries, e)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		if len(out) == 0 {
			return nil
		}
		found := make([]feedKey, 0, len(out))
		for _, k := range keys {
			if r := out[hubKey(k.TenantID, k.ContactID)]; r != nil {
				slices.SortFunc(r.entries, func(a, b logEntry) int { return cmp.Compare(a.Seq, b.Seq) })
				r.full = len(r.entries) >= replayBatch
				found = append(found, k)
			}
		}
		with, args = keysCTE(tx, found)
		rows, err = tx.Query(ctx, with+` SELECT k.t, k.c,
				COALESCE(SUM(CASE WHEN n.read_at IS NULL THEN 1 ELSE 0 END), 0),
				COALESCE(SUM(CASE WHEN n.seen_at IS NULL THEN 1 ELSE 0 END), 0)
			FROM k CROSS JOIN notifications n
			WHERE n.tenant_id = k.t AND n.contact_id = k.c AND n.in_feed AND n.archived_at IS NULL
			GROUP BY k.t, k.c`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var t, c string
			var n wire.FeedCounts
			if err := rows.Scan(&t, &c, &n.Unread, &n.Unseen); err != nil {
				return err
			}
			if r := out[hubKey(t, c)]; r != nil {
				r.counts = n
			}
		}
		return rows.Err()
	})
	return out, err
}
