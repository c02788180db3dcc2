package notify

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/joist-dev/joist/internal/store"
)

// Multi-row writes of a fan-out chunk: a statement per table and batch
// instead of one per recipient (on SQLite, preparing a statement costs
// more than running it).

// insertBatch is how many contacts a digest statement handles at most.
const insertBatch = 200

// maxParams bounds the parameters of one multi-row statement: half of
// SQLite's limit (32,766; PostgreSQL's is 65,535), so that a chunk of 500
// recipients writes each table with one statement (17 columns x 500
// notifications, 11 x 1,000 deliveries).
const maxParams = 16384

// rowsPer is how many rows of cols columns one statement carries.
func rowsPer(cols int) int { return max(1, maxParams/cols) }

// insertRows writes rows with one multi-row INSERT per rowsPer(cols)
// rows; each row's values are given by vals.
func insertRows(ctx context.Context, tx *store.Tx, head string, cols, n int, vals func(i int) []any) error {
	return insertRowsThen(ctx, tx, head, "", cols, n, vals)
}

// insertRowsThen is insertRows with tail (an ON CONFLICT clause) after
// each statement's rows.
func insertRowsThen(ctx context.Context, tx *store.Tx, head, tail string, cols, n int, vals func(i int) []any) error {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	for lo := 0; lo < n; lo += rowsPer(cols) {
		hi := min(lo+rowsPer(cols), n)
		var b strings.Builder
		b.WriteString(head)
		b.WriteString(" VALUES ")
		args := make([]any, 0, cols*(hi-lo))
		for i := lo; i < hi; i++ {
			if i > lo {
				b.WriteString(", ")
			}
			b.WriteString(row)
			args = append(args, vals(i)...)
		}
		b.WriteString(tail)
		if _, err := tx.Exec(ctx, b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// feedAppendMany is feedAppend for many notifications of distinct
// contacts at once: each contact's next sequence number (one upsert with
// RETURNING per batch, contacts in order so that concurrent writers lock
// feed_sequences rows in one order) and its feed_log row.
func feedAppendMany(ctx context.Context, tx *store.Tx, tenantID string, notes []*Notification, now time.Time) ([]FeedChange, error) {
	if len(notes) == 0 {
		return nil, nil
	}
	sort.Slice(notes, func(i, j int) bool { return notes[i].ContactID < notes[j].ContactID })
	byContact := make(map[string]*Notification, len(notes))
	for _, n := range notes {
		byContact[n.ContactID] = n
	}
	changes := make([]FeedChange, 0, len(notes))
	for lo := 0; lo < len(notes); lo += rowsPer(2) {
		hi := min(lo+rowsPer(2), len(notes))
		var b strings.Builder
		b.WriteString("INSERT INTO feed_sequences (tenant_id, contact_id, seq) VALUES ")
		args := make([]any, 0, 2*(hi-lo))
		for i := lo; i < hi; i++ {
			if i > lo {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, 1)")
			args = append(args, tenantID, notes[i].ContactID)
		}
		b.WriteString(" ON CONFLICT (tenant_id, contact_id) DO UPDATE SET seq = feed_sequences.seq + 1 RETURNING contact_id, seq")
		rows, err := tx.Query(ctx, b.String(), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var c FeedChange
			if err := rows.Scan(&c.ContactID, &c.Seq); err != nil {
				rows.Close()
				return nil, err
			}
			n := byContact[c.ContactID]
			n.Seq = c.Seq
			c.TenantID, c.Kind, c.NotificationID = tenantID, FeedNew, n.ID
			changes = append(changes, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	err := insertRows(ctx, tx, "INSERT INTO feed_log (tenant_id, contact_id, seq, kind, notification_id, created_at)", 6, len(changes),
		func(i int) []any {
			c := changes[i]
			return []any{tenantID, c.ContactID, c.Seq, c.Kind, c.NotificationID, now}
		})
	return changes, err
}

// writeRows writes a chunk's rows: the in-feed notifications' feed
// entries, then the notifications, their deliveries and timeline entries.
func writeRows(ctx context.Context, tx *store.Tx, tenantID string, r *chunkRows, now time.Time) ([]FeedChange, error) {
	var inFeed []*Notification
	for i := range r.notes {
		if r.notes[i].InFeed {
			inFeed = append(inFeed, &r.notes[i])
		}
	}
	changes, err := feedAppendMany(ctx, tx, tenantID, inFeed, now)
	if err != nil {
		return nil, err
	}
	err = insertRows(ctx, tx, `INSERT INTO notifications (id, tenant_id, event_id, contact_id, type, grp, critical, title, body, url, data, in_feed,
		seq, digest_id, correlation_id, created_at, updated_at)`, 17, len(r.notes), func(i int) []any {
		n := r.notes[i]
		return []any{n.ID, n.TenantID, n.EventID, n.ContactID, n.Type, n.Group, n.Critical, n.Title, n.Body, n.URL, string(n.Data), n.InFeed,
			n.Seq, n.DigestID, n.CorrelationID, n.CreatedAt, n.UpdatedAt}
	})
	if err != nil {
		return nil, err
	}
	err = insertRows(ctx, tx, `INSERT INTO notification_deliveries (id, tenant_id, notification_id, contact_id, channel, status, reason, detail,
		target, created_at, updated_at)`, 11, len(r.dels), func(i int) []any {
		d := r.dels[i]
		return []any{d.ID, d.TenantID, d.NotificationID, d.ContactID, d.Channel, d.Status, d.Reason, d.Detail, d.Target, d.CreatedAt, d.UpdatedAt}
	})
	if err != nil {
		return nil, err
	}
	return changes, timelineAddMany(ctx, tx.Tenant(tenantID), r.timeline)
}

// timelineAddMany adds entries (with their ids set) to contacts'
// timelines: the columns store.Scope.TimelineAdd writes, many rows at once.
func timelineAddMany(ctx context.Context, sc *store.Scope, entries []store.TimelineEntry) error {
	return insertRows(ctx, sc.Tx(), `INSERT INTO timeline (id, tenant_id, contact_id, kind, summary, ref_type, ref_id, correlation_id, created_at)`, 9,
		len(entries), func(i int) []any {
			e := entries[i]
			return []any{e.ID, sc.TenantID(), e.ContactID, e.Kind, e.Summary, e.RefType, e.RefID, e.CorrelationID, e.CreatedAt}
		})
}
