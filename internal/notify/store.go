package notify

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// The SQL of the notification system's own tables. Every function takes
// a tenant scope and constrains on its tenant, except where it reads the
// instance's types, which every tenant resolves.

func jsonOf(v any) json.RawMessage {
	b, _ := json.Marshal(v) // maps and structs of strings and bools: cannot fail
	return b
}

const typeCols = "tenant_id, name, channels, defaults, critical, grp, digest_window, digest_key, created_at, updated_at"

func scanType(r store.Row) (Type, error) {
	var t Type
	var ch, def []byte
	err := r.Scan(&t.TenantID, &t.Name, &ch, &def, &t.Critical, &t.Group, &t.DigestWindow, &t.DigestKey, &t.CreatedAt, &t.UpdatedAt)
	if err != nil {
		return t, err
	}
	if err := json.Unmarshal(ch, &t.Channels); err != nil {
		return t, err
	}
	return t, json.Unmarshal(def, &t.Defaults)
}

func typePut(ctx context.Context, sc *store.Scope, t Type) (Type, bool, error) {
	tx, tid := sc.Tx(), sc.TenantID()
	t.TenantID = tid
	prev, err := scanType(tx.QueryRow(ctx, "SELECT "+typeCols+" FROM notification_types WHERE tenant_id = ? AND name = ?", tid, t.Name))
	switch {
	case err == nil:
		t.CreatedAt = prev.CreatedAt
		_, err = tx.Exec(ctx, `UPDATE notification_types SET channels = ?, defaults = ?, critical = ?, grp = ?, digest_window = ?, digest_key = ?,
			updated_at = ? WHERE tenant_id = ? AND name = ?`, jsonOf(t.Channels), jsonOf(t.Defaults), t.Critical, t.Group, t.DigestWindow,
			t.DigestKey, t.UpdatedAt, tid, t.Name)
		return t, false, err
	case !errors.Is(err, store.ErrNotFound):
		return t, false, err
	}
	_, err = tx.Exec(ctx, "INSERT INTO notification_types ("+typeCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		tid, t.Name, jsonOf(t.Channels), jsonOf(t.Defaults), t.Critical, t.Group, t.DigestWindow, t.DigestKey, t.CreatedAt, t.UpdatedAt)
	return t, true, err
}

// typeFind finds the type name the tenant resolves: its own, else the
// instance's.
func typeFind(ctx context.Context, sc *store.Scope, name string) (Type, error) {
	return scanType(sc.Tx().QueryRow(ctx, "SELECT "+typeCols+` FROM notification_types WHERE name = ? AND tenant_id IN (?, ?)
		ORDER BY CASE WHEN tenant_id = ? THEN 0 ELSE 1 END LIMIT 1`, name, sc.TenantID(), store.InstanceTenantID, sc.TenantID()))
}

// typeList lists the types the tenant resolves by name: its own and the
// instance's it has none of the same name for.
func typeList(ctx context.Context, sc *store.Scope, p store.Page) ([]Type, string, error) {
	after, err := p.After()
	if err != nil {
		return nil, "", err
	}
	q, args := sc.ResolvedPage("notification_types", typeCols, after, p.Size()+1)
	rows, err := sc.Tx().Query(ctx, q, args...)
	items, err := store.Collect(rows, err, func(r store.Rows) (Type, error) { return scanType(r) })
	if err != nil {
		return nil, "", err
	}
	out, next := store.PageOf(items, p, func(t Type) string { return t.Name })
	return out, next, nil
}

// typeAll lists every type the tenant resolves (for preferences).
func typeAll(ctx context.Context, sc *store.Scope) ([]Type, error) {
	var out []Type
	p := store.Page{Limit: 500, List: "notification types"}
	for {
		items, next, err := typeList(ctx, sc, p)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if next == "" {
			return out, nil
		}
		p.Cursor = next
	}
}

func typeDelete(ctx context.Context, sc *store.Scope, name string) error {
	n, err := sc.Tx().Exec(ctx, "DELETE FROM notification_types WHERE tenant_id = ? AND name = ?", sc.TenantID(), name)
	if err == nil && n == 0 {
		return store.ErrNotFound
	}
	return err
}

// Event is a posted event.
type Event struct {
	ID             string
	TenantID       string
	Type           string
	Data           json.RawMessage
	Actor          string
	Recipients     json.RawMessage // []recipient
	RecipientCount int
	FannedOut      int
	Notified       int
	Skipped        int
	Status         string
	IdempotencyKey string
	JobID          string
	CorrelationID  string
	CreatedAt      time.Time
	CompletedAt    *time.Time
}

// Event statuses.
const (
	EventPending    = "pending"
	EventFanningOut = "fanning_out"
	EventDone       = "done"
)

const eventCols = `id, tenant_id, type, data, actor, recipients, recipient_count, fanned_out, notified, skipped, status, idempotency_key,
	job_id, correlation_id, created_at, completed_at`

// eventColsLight leaves the recipients out (lists and GET do not show them).
const eventColsLight = `id, tenant_id, type, data, actor, '[]', recipient_count, fanned_out, notified, skipped, status, idempotency_key,
	job_id, correlation_id, created_at, completed_at`

func scanEvent(r store.Row) (Event, error) {
	var e Event
	var data, rc []byte
	err := r.Scan(&e.ID, &e.TenantID, &e.Type, &data, &e.Actor, &rc, &e.RecipientCount, &e.FannedOut, &e.Notified, &e.Skipped, &e.Status,
		&e.IdempotencyKey, &e.JobID, &e.CorrelationID, &e.CreatedAt, &e.CompletedAt)
	e.Data, e.Recipients = data, rc
	return e, err
}

func eventInsert(ctx context.Context, sc *store.Scope, e Event) error {
	_, err := sc.Tx().Exec(ctx, "INSERT INTO notify_events ("+eventCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		e.ID, sc.TenantID(), e.Type, string(e.Data), e.Actor, string(e.Recipients), e.RecipientCount, e.FannedOut, e.Notified, e.Skipped,
		e.Status, e.IdempotencyKey, e.JobID, e.CorrelationID, e.CreatedAt, e.CompletedAt)
	return err
}

func eventGet(ctx context.Context, sc *store.Scope, id string, full bool) (Event, error) {
	cols := eventColsLight
	if full {
		cols = eventCols
	}
	return scanEvent(sc.Tx().QueryRow(ctx, "SELECT "+cols+" FROM notify_events WHERE tenant_id = ? AND id = ?", sc.TenantID(), id))
}

func eventGetByKey(ctx context.Context, sc *store.Scope, key string) (Event, error) {
	return scanEvent(sc.Tx().QueryRow(ctx, "SELECT "+eventColsLight+" FROM notify_events WHERE tenant_id = ? AND idempotency_key = ?",
		sc.TenantID(), key))
}

func eventList(ctx context.Context, sc *store.Scope, p store.Page, typ string) ([]Event, string, error) {
	after, err := p.After()
	if err != nil {
		return nil, "", err
	}
	q := "SELECT " + eventColsLight + " FROM notify_events WHERE tenant_id = ?"
	args := []any{sc.TenantID()}
	if typ != "" {
		q += " AND type = ?"
		args = append(args, typ)
	}
	if after != "" {
		q += " AND id < ?"
		args = append(args, after)
	}
	rows, err := sc.Tx().Query(ctx, q+" ORDER BY id DESC LIMIT ?", append(args, p.Size()+1)...)
	items, err := store.Collect(rows, err, func(r store.Rows) (Event, error) { return scanEvent(r) })
	if err != nil {
		return nil, "", err
	}
	out, next := store.PageOf(items, p, func(e Event) string { return e.ID })
	return out, next, nil
}

func eventSkips(ctx context.Context, sc *store.Scope, id string) ([]wire.NotifyEventSkip, error) {
	rows, err := sc.Tx().Query(ctx, "SELECT recipient, reason FROM notify_event_skips WHERE tenant_id = ? AND event_id = ? ORDER BY recipient LIMIT 1000",
		sc.TenantID(), id)
	return store.Collect(rows, err, func(r store.Rows) (wire.NotifyEventSkip, error) {
		var s wire.NotifyEventSkip
		return s, r.Scan(&s.Recipient, &s.Reason)
	})
}

// Notification is one recipient's notification with its deliveries.
type Notification struct {
	ID, TenantID, EventID, ContactID, Type, Group string
	Critical                                      bool
	Title, Body, URL                              string
	Data                                          json.RawMessage
	InFeed                                        bool
	Seq                                           int64
	DigestID                                      string // the digest its email and push went into, if any
	CorrelationID                                 string
	CreatedAt, UpdatedAt                          time.Time
	// ContactExternalID and Deliveries are filled in by reads.
	ContactExternalID string
	Deliveries        []Delivery
}

// Delivery is one channel's outcome for a notification.
type Delivery struct {
	ID, TenantID, NotificationID, ContactID, Channel string
	Status, Reason, Detail, Target                   string
	CreatedAt, UpdatedAt                             time.Time
}

// notificationsOfEvent lists an event's notifications by id, with their
// contacts' external ids and their deliveries.
func notificationsOfEvent(ctx context.Context, sc *store.Scope, eventID string, p store.Page) ([]Notification, string, error) {
	after, err := p.After()
	if err != nil {
		return nil, "", err
	}
	rows, err := sc.Tx().Query(ctx, `SELECT n.id, n.event_id, n.contact_id, COALESCE(c.external_id, ''), n.type, n.title, n.body, n.url, n.in_feed,
		n.created_at FROM notifications n LEFT JOIN contacts c ON c.tenant_id = n.tenant_id AND c.id = n.contact_id
		WHERE n.tenant_id = ? AND n.event_id = ? AND n.id > ? ORDER BY n.id LIMIT ?`, sc.TenantID(), eventID, after, p.Size()+1)
	items, err := store.Collect(rows, err, func(r store.Rows) (Notification, error) {
		var n Notification
		return n, r.Scan(&n.ID, &n.EventID, &n.ContactID, &n.ContactExternalID, &n.Type, &n.Title, &n.Body, &n.URL, &n.InFeed, &n.CreatedAt)
	})
	if err != nil {
		return nil, "", err
	}
	items, next := store.PageOf(items, p, func(n Notification) string { return n.ID })
	return items, next, deliveriesOf(ctx, sc, items)
}

// deliveriesOf fills in the deliveries of notifications (one query).
func deliveriesOf(ctx context.Context, sc *store.Scope, items []Notification) error {
	if len(items) == 0 {
		return nil
	}
	args := []any{sc.TenantID(), items[0].ID}
	for _, n := range items[1:] {
		args = append(args, n.ID)
	}
	rows, err := sc.Tx().Query(ctx, `SELECT id, notification_id, channel, status, reason, detail, target, updated_at FROM notification_deliveries
		WHERE tenant_id = ? AND notification_id IN (?`+store.MorePlaceholders(len(items)-1)+`) ORDER BY notification_id, id`, args...)
	ds, err := store.Collect(rows, err, func(r store.Rows) (Delivery, error) {
		var d Delivery
		return d, r.Scan(&d.ID, &d.NotificationID, &d.Channel, &d.Status, &d.Reason, &d.Detail, &d.Target, &d.UpdatedAt)
	})
	if err != nil {
		return err
	}
	byID := map[string][]Delivery{}
	for _, d := range ds {
		byID[d.NotificationID] = append(byID[d.NotificationID], d)
	}
	for i := range items {
		items[i].Deliveries = byID[items[i].ID]
	}
	return nil
}

func prefsGet(ctx context.Context, sc *store.Scope, contactID string) (wire.NotificationPreferencesPut, error) {
	var raw []byte
	var o wire.NotificationPreferencesPut
	err := sc.Tx().QueryRow(ctx, "SELECT overrides FROM notify_preferences WHERE tenant_id = ? AND contact_id = ?", sc.TenantID(), contactID).Scan(&raw)
	if errors.Is(err, store.ErrNotFound) {
		return o, nil
	}
	if err != nil {
		return o, err
	}
	return o, json.Unmarshal(raw, &o)
}

func prefsPut(ctx context.Context, sc *store.Scope, contactID string, o wire.NotificationPreferencesPut, now time.Time) error {
	_, err := sc.Tx().Exec(ctx, `INSERT INTO notify_preferences (tenant_id, contact_id, overrides, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_id, contact_id) DO UPDATE SET overrides = excluded.overrides, updated_at = excluded.updated_at`,
		sc.TenantID(), contactID, jsonOf(o), now)
	return err
}
