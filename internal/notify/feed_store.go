package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// Feed filters (?status= of GET /v1/feed).
const (
	FeedActive   = ""         // not archived (the default)
	FeedUnread   = "unread"   // not read, not archived
	FeedUnseen   = "unseen"   // not seen, not archived
	FeedArchived = "archived" // archived only
	FeedAll      = "all"      // everything in the feed
)

// FeedStatuses are the accepted ?status= values.
var FeedStatuses = []string{FeedUnread, FeedUnseen, FeedArchived, FeedAll}

// State changes of one notification (POST /v1/feed/{notification}/{action}).
const (
	ActionSeen      = "seen"
	ActionRead      = "read"
	ActionUnread    = "unread"
	ActionArchive   = "archive"
	ActionUnarchive = "unarchive"
)

const feedCols = "id, type, title, body, url, data, seen_at, read_at, archived_at, created_at, seq"

func scanFeedItem(r store.Row) (wire.FeedItem, error) {
	var it wire.FeedItem
	var data []byte
	err := r.Scan(&it.ID, &it.Type, &it.Title, &it.Body, &it.URL, &data, &it.SeenAt, &it.ReadAt, &it.ArchivedAt, &it.CreatedAt, &it.Seq)
	if len(data) == 0 {
		data = []byte("{}")
	}
	it.Data = json.RawMessage(data)
	it.CreatedAt = it.CreatedAt.UTC()
	for _, p := range []**time.Time{&it.SeenAt, &it.ReadAt, &it.ArchivedAt} {
		if *p != nil {
			t := (*p).UTC()
			*p = &t
		}
	}
	return it, err
}

func statusWhere(status string) (string, error) {
	switch status {
	case FeedActive:
		return " AND archived_at IS NULL", nil
	case FeedUnread:
		return " AND read_at IS NULL AND archived_at IS NULL", nil
	case FeedUnseen:
		return " AND seen_at IS NULL AND archived_at IS NULL", nil
	case FeedArchived:
		return " AND archived_at IS NOT NULL", nil
	case FeedAll:
		return "", nil
	}
	return "", fieldErr("status", "invalid_status", fmt.Sprintf("status %q is not one of unread, unseen, archived, all", store.SafeText(status)))
}

// List is one page of a contact's feed, newest first.
func (f *Feed) List(ctx context.Context, tenantID, contactID, status string, p store.Page) ([]wire.FeedItem, string, error) {
	where, err := statusWhere(status)
	if err != nil {
		return nil, "", err
	}
	after, err := p.After()
	if err != nil {
		return nil, "", err
	}
	var items []wire.FeedItem
	err = f.db.Read(ctx, func(tx *store.Tx) error {
		q := "SELECT " + feedCols + " FROM notifications WHERE tenant_id = ? AND contact_id = ? AND in_feed" + where
		args := []any{tenantID, contactID}
		if after != "" {
			q += " AND id < ?"
			args = append(args, after)
		}
		q += fmt.Sprintf(" ORDER BY id DESC LIMIT %d", p.Size()+1)
		rows, err := tx.Query(ctx, q, args...)
		items, err = store.Collect(rows, err, func(r store.Rows) (wire.FeedItem, error) { return scanFeedItem(r) })
		return err
	})
	if err != nil {
		return nil, "", err
	}
	items, next := store.PageOf(items, p, func(it wire.FeedItem) string { return it.ID })
	return items, next, nil
}

// Counts are the contact's unread and unseen notifications (archived
// ones excluded).
func (f *Feed) Counts(ctx context.Context, tenantID, contactID string) (wire.FeedCounts, error) {
	var c wire.FeedCounts
	err := f.db.Read(ctx, func(tx *store.Tx) error { return countsTx(ctx, tx, tenantID, contactID, &c) })
	return c, err
}

func countsTx(ctx context.Context, tx *store.Tx, tenantID, contactID string, c *wire.FeedCounts) error {
	return tx.QueryRow(ctx, `SELECT
			COALESCE(SUM(CASE WHEN read_at IS NULL THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN seen_at IS NULL THEN 1 ELSE 0 END), 0)
		FROM notifications WHERE tenant_id = ? AND contact_id = ? AND in_feed AND archived_at IS NULL`,
		tenantID, contactID).Scan(&c.Unread, &c.Unseen)
}

func getItem(ctx context.Context, tx *store.Tx, tenantID, contactID, id string) (wire.FeedItem, error) {
	it, err := scanFeedItem(tx.QueryRow(ctx, "SELECT "+feedCols+" FROM notifications WHERE tenant_id = ? AND contact_id = ? AND id = ? AND in_feed",
		tenantID, contactID, id))
	if errors.Is(err, store.ErrNotFound) {
		return it, core.NotFound("notification %q not found", store.SafeText(id))
	}
	return it, err
}

// SetState applies action (seen, read, unread, archive, unarchive) to one
// of the contact's notifications; a change is logged to the feed (and
// streams woken), no change answers the notification as it is. Another
// contact's or tenant's notification is not found.
func (f *Feed) SetState(ctx context.Context, tenantID, contactID, id, action, correlationID string) (wire.FeedItem, error) {
	var set, cond string
	switch action {
	case ActionSeen:
		set, cond = "seen_at = ?", "seen_at IS NULL"
	case ActionRead:
		set, cond = "read_at = ?, seen_at = COALESCE(seen_at, ?)", "read_at IS NULL"
	case ActionUnread:
		set, cond = "read_at = NULL", "read_at IS NOT NULL"
	case ActionArchive:
		set, cond = "archived_at = ?", "archived_at IS NULL"
	case ActionUnarchive:
		set, cond = "archived_at = NULL", "archived_at IS NOT NULL"
	default:
		return wire.FeedItem{}, core.NotFound("no action %q", store.SafeText(action))
	}
	now := f.now()
	var it wire.FeedItem
	var changes []FeedChange
	err := f.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if it, err = getItem(ctx, tx, tenantID, contactID, id); err != nil {
			return err
		}
		var args []any
		switch action {
		case ActionSeen, ActionArchive:
			args = []any{now}
		case ActionRead:
			args = []any{now, now}
		}
		args = append(args, now, tenantID, contactID, id)
		n, err := tx.Exec(ctx, "UPDATE notifications SET "+set+", updated_at = ? WHERE tenant_id = ? AND contact_id = ? AND id = ? AND "+cond, args...)
		if err != nil || n == 0 {
			return err
		}
		c, err := feedAppend(ctx, tx, tenantID, contactID, FeedState, id, now)
		if err != nil {
			return err
		}
		changes = append(changes, c)
		if action == ActionRead || action == ActionArchive {
			kind := "notification." + action
			if action == ActionArchive {
				kind = "notification.archived"
			}
			if err := tx.Tenant(tenantID).TimelineAdd(ctx, store.TimelineEntry{ContactID: contactID, Kind: kind,
				Summary: it.Title, RefType: "notification", RefID: id, CorrelationID: correlationID, CreatedAt: now}); err != nil {
				return err
			}
		}
		it, err = getItem(ctx, tx, tenantID, contactID, id)
		return err
	})
	if err != nil {
		return wire.FeedItem{}, err
	}
	f.FeedChanged(ctx, changes)
	return it, nil
}

// ReadAll marks every unread, unarchived notification of the contact
// read (and seen), one feed log entry each, and returns how many.
func (f *Feed) ReadAll(ctx context.Context, tenantID, contactID string) (int, error) {
	now := f.now()
	var changes []FeedChange
	err := f.db.Write(ctx, func(tx *store.Tx) error {
		changes = nil
		rows, err := tx.Query(ctx, `SELECT id FROM notifications WHERE tenant_id = ? AND contact_id = ? AND in_feed
			AND read_at IS NULL AND archived_at IS NULL ORDER BY id`, tenantID, contactID)
		ids, err := store.Collect(rows, err, func(r store.Rows) (string, error) {
			var id string
			return id, r.Scan(&id)
		})
		if err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := tx.Exec(ctx, `UPDATE notifications SET read_at = ?, seen_at = COALESCE(seen_at, ?), updated_at = ?
				WHERE tenant_id = ? AND contact_id = ? AND id = ?`, now, now, now, tenantID, contactID, id); err != nil {
				return err
			}
			c, err := feedAppend(ctx, tx, tenantID, contactID, FeedState, id, now)
			if err != nil {
				return err
			}
			changes = append(changes, c)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	f.FeedChanged(ctx, changes)
	return len(changes), nil
}

// logEntry is one feed_log row as a stream sends it.
type logEntry struct {
	Seq  int64
	Kind string
	Item *wire.FeedItem // nil when the notification is gone
}

// logAfter reads up to limit entries of the contact's feed log after seq,
// in order, each with its notification as it is now.
func (f *Feed) logAfter(ctx context.Context, tenantID, contactID string, seq int64, limit int) ([]logEntry, error) {
	var out []logEntry
	err := f.db.Read(ctx, func(tx *store.Tx) (err error) {
		out, err = logAfterTx(ctx, tx, tenantID, contactID, seq, limit)
		return err
	})
	return out, err
}

func logAfterTx(ctx context.Context, tx *store.Tx, tenantID, contactID string, seq int64, limit int) ([]logEntry, error) {
	rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT l.seq, l.kind, n.`+feedColsN+`
		FROM feed_log l LEFT JOIN notifications n ON n.id = l.notification_id AND n.tenant_id = l.tenant_id AND n.contact_id = l.contact_id AND n.in_feed
		WHERE l.tenant_id = ? AND l.contact_id = ? AND l.seq > ? ORDER BY l.seq LIMIT %d`, limit), tenantID, contactID, seq)
	return store.Collect(rows, err, func(r store.Rows) (logEntry, error) {
		var e logEntry
		return e, scanLogEntry(r, &e)
	})
}

// streamStart is what a stream sends when it connects, read in one read
// transaction: the log after seq (after the contact's current sequence
// when fresh: no Last-Event-ID), up to limit entries, and the counts.
func (f *Feed) streamStart(ctx context.Context, tenantID, contactID string, seq int64, fresh bool, limit int) (int64, []logEntry, wire.FeedCounts, error) {
	var entries []logEntry
	var c wire.FeedCounts
	err := f.db.Read(ctx, func(tx *store.Tx) (err error) {
		if fresh {
			if seq, err = lastSeqTx(ctx, tx, tenantID, contactID); err != nil {
				return err
			}
		}
		if entries, err = logAfterTx(ctx, tx, tenantID, contactID, seq, limit); err != nil {
			return err
		}
		return countsTx(ctx, tx, tenantID, contactID, &c)
	})
	return seq, entries, c, err
}

// scanLogEntry scans a feed_log row joined with its notification (the
// columns after dest; e.Item stays nil when the notification is gone).
func scanLogEntry(r store.Rows, e *logEntry, dest ...any) error {
	var id, typ, title, body, url *string
	var data []byte
	var seen, read, archived, created *time.Time
	var nseq *int64
	if err := r.Scan(append(dest, &e.Seq, &e.Kind, &id, &typ, &title, &body, &url, &data, &seen, &read, &archived, &created, &nseq)...); err != nil {
		return err
	}
	if id != nil && created != nil {
		it := wire.FeedItem{ID: *id, Type: deref(typ), Title: deref(title), Body: deref(body), URL: deref(url), Data: json.RawMessage(data),
			SeenAt: utc(seen), ReadAt: utc(read), ArchivedAt: utc(archived), CreatedAt: created.UTC()}
		if len(it.Data) == 0 {
			it.Data = json.RawMessage("{}")
		}
		if nseq != nil {
			it.Seq = *nseq
		}
		e.Item = &it
	}
	return nil
}

// feedColsN are feedCols of the notification joined as n.
const feedColsN = "id, n.type, n.title, n.body, n.url, n.data, n.seen_at, n.read_at, n.archived_at, n.created_at, n.seq"

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// lastSeqTx is the contact's current feed sequence (0 before any change).
func lastSeqTx(ctx context.Context, tx *store.Tx, tenantID, contactID string) (int64, error) {
	var seq int64
	err := tx.QueryRow(ctx, "SELECT seq FROM feed_sequences WHERE tenant_id = ? AND contact_id = ?", tenantID, contactID).Scan(&seq)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	return seq, err
}
