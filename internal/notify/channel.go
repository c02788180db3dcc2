package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
)

// Channel is a delivery channel other than in_app (email, push): the
// fan-out asks it, for each recipient whose preferences allow the
// channel, what becomes of the delivery. Plan runs inside the fan-out's
// transaction: it decides queued or skipped (with a reason), and for a
// queued delivery enqueues its send job in in.Tx, so the delivery and its
// job commit together. The send job later records the outcome with
// Service.DeliveryFinish (sent or failed).
type Channel interface {
	// Name is the channel's name (email, push).
	Name() string
	// Plan decides one delivery. An error fails the fan-out's chunk (it is
	// retried); an outcome of bad input (a template the data does not fit)
	// is a failed Outcome with Detail instead.
	Plan(ctx context.Context, in PlanInput) (Outcome, error)
}

// PlanInput is one delivery a Channel plans.
type PlanInput struct {
	// Tx is the fan-out's transaction.
	Tx *store.Tx
	// Actor is joist itself, with the event's correlation id.
	Actor        auth.Actor
	TenantID     string
	Event        Event
	Type         Type
	Contact      store.Contact
	Data         json.RawMessage
	Notification string // the notification's id
	Delivery     string // the delivery's id (ndl_...)
	// Render renders a content template of the type (text/template
	// source) with the notification's context (data, contact, tenant).
	Render func(src string) (string, error)
	// Digest is set when the delivery is a digest's: Data is then the
	// digest's data (its latest event's data with "digest" added), Render
	// renders with its latest event's context, Notification names that
	// event's notification, and Delivery is the digest's delivery.
	Digest *DigestInfo
	// Enqueue, when set, takes a send job for the fan-out to insert in
	// Tx with the rest of the chunk's jobs (one batch insert per chunk,
	// before the chunk's deliveries are written); unset, a channel
	// enqueues its job in Tx itself.
	Enqueue func(river.InsertManyParams)
	// Chunk, when set, holds the ids (ct_...) of every contact the fan-out
	// is notifying in this transaction, and Memo is scratch space kept for
	// the chunk: a channel may look something up once for all of Chunk and
	// keep it in Memo under its own name, instead of a query per contact.
	Chunk []string
	Memo  map[string]any
}

// Outcome is what a Channel decided: Status queued, skipped (Reason),
// sent, delivered or failed (Detail); Target names what it went to.
type Outcome struct {
	Status, Reason, Detail, Target string
}

// Skipped is a skipped outcome with reason.
func Skipped(reason string) Outcome { return Outcome{Status: StatusSkipped, Reason: reason} }

// DeliveryFinish records the outcome of a delivery's send (status sent,
// delivered or failed, with detail) and writes it to the contact's
// timeline under the notification's correlation id. Send jobs of channels
// call it.
func (s *Service) DeliveryFinish(ctx context.Context, tenantID, deliveryID, status, detail string) error {
	return s.DeliveriesFinish(ctx, tenantID, []DeliveryResult{{DeliveryID: deliveryID, Status: status, Detail: detail}})
}

// DeliveriesFinish records several deliveries' outcomes, as DeliveryFinish
// does each, in one transaction and a few statements: one read of the
// deliveries, an UPDATE per distinct (status, detail) and one insert of
// the timeline entries (a digest's delivery is written alone).
func (s *Service) DeliveriesFinish(ctx context.Context, tenantID string, rs []DeliveryResult) error {
	for _, r := range rs {
		switch r.Status {
		case StatusSent, StatusDelivered, StatusFailed:
		default:
			return fmt.Errorf("notify: DeliveryFinish: status %q is not sent, delivered or failed", r.Status)
		}
	}
	now := s.now()
	return s.db.Write(ctx, func(tx *store.Tx) error {
		if len(rs) == 1 {
			return deliveryFinishTx(ctx, tx, tenantID, rs[0], now)
		}
		return deliveriesFinishTx(ctx, tx, tenantID, rs, now)
	})
}

func deliveriesFinishTx(ctx context.Context, tx *store.Tx, tenantID string, rs []DeliveryResult, now time.Time) error {
	sc := tx.Tenant(tenantID)
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.DeliveryID
	}
	type row struct{ id, contactID, channel, notificationID, corr string }
	// SQLite, without statistics, would rather scan the tenant's
	// deliveries by the (tenant_id, channel, status) index than probe the
	// primary key for each id: the unary + keeps it off that index.
	plus := ""
	if tx.Dialect() == store.SQLite {
		plus = "+"
	}
	q := `SELECT d.id, d.contact_id, d.channel, d.notification_id, n.correlation_id FROM notification_deliveries d
		JOIN notifications n ON n.id = d.notification_id WHERE ` + plus + `d.tenant_id = ? AND d.id `
	args := []any{tenantID}
	if tx.Dialect() == store.Postgres {
		q += "= ANY(?::text[])"
		args = append(args, ids)
	} else {
		q += "IN (?" + store.MorePlaceholders(len(ids)-1) + ")"
		for _, id := range ids {
			args = append(args, id)
		}
	}
	rows, err := tx.Query(ctx, q, args...)
	found, err := store.Collect(rows, err, func(r store.Rows) (row, error) {
		var x row
		return x, r.Scan(&x.id, &x.contactID, &x.channel, &x.notificationID, &x.corr)
	})
	if err != nil {
		return err
	}
	byID := make(map[string]row, len(found))
	for _, x := range found {
		byID[x.id] = x
	}
	type key struct{ status, detail string }
	groups := map[key][]string{}
	var order []key
	var tl []store.TimelineEntry
	for _, r := range rs {
		x, ok := byID[r.DeliveryID]
		if !ok {
			// A digest's delivery, or one that is gone: as DeliveryFinish.
			if err := deliveryFinishTx(ctx, tx, tenantID, r, now); err != nil {
				return err
			}
			continue
		}
		k := key{r.Status, store.SafeText(r.Detail)}
		if _, seen := groups[k]; !seen {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r.DeliveryID)
		summary := fmt.Sprintf("Notification %s %s", x.channel, r.Status)
		if k.detail != "" {
			summary += ": " + k.detail
		}
		tl = append(tl, store.TimelineEntry{ID: store.NewID(store.PrefixTimeline), ContactID: x.contactID, Kind: "notification." + x.channel + "." + r.Status,
			Summary: summary, RefType: "notification", RefID: x.notificationID, CorrelationID: x.corr, CreatedAt: now})
	}
	for _, k := range order {
		g := groups[k]
		args := []any{k.status, k.detail, now, tenantID}
		in := "= ANY(?::text[])"
		if tx.Dialect() == store.Postgres {
			args = append(args, g)
		} else {
			in = "IN (?" + store.MorePlaceholders(len(g)-1) + ")"
			for _, id := range g {
				args = append(args, id)
			}
		}
		if _, err := tx.Exec(ctx, "UPDATE notification_deliveries SET status = ?, detail = ?, updated_at = ? WHERE "+plus+"tenant_id = ? AND id "+in, args...); err != nil {
			return err
		}
	}
	return timelineAddMany(ctx, sc, tl)
}

func deliveryFinishTx(ctx context.Context, tx *store.Tx, tenantID string, r DeliveryResult, now time.Time) error {
	sc := tx.Tenant(tenantID)
	var contactID, channel, notificationID, corr string
	table, refType := "notification_deliveries", "notification"
	err := tx.QueryRow(ctx, `SELECT d.contact_id, d.channel, d.notification_id, n.correlation_id FROM notification_deliveries d
		JOIN notifications n ON n.id = d.notification_id WHERE d.tenant_id = ? AND d.id = ?`, tenantID, r.DeliveryID).
		Scan(&contactID, &channel, &notificationID, &corr)
	if errors.Is(err, store.ErrNotFound) {
		// A digest's delivery (see digest.go).
		table, refType = "notification_digest_deliveries", "notification_digest"
		err = tx.QueryRow(ctx, `SELECT d.contact_id, d.channel, d.digest_id, g.correlation_id FROM notification_digest_deliveries d
			JOIN notification_digests g ON g.id = d.digest_id WHERE d.tenant_id = ? AND d.id = ?`, tenantID, r.DeliveryID).
			Scan(&contactID, &channel, &notificationID, &corr)
	}
	if errors.Is(err, store.ErrNotFound) {
		return core.NotFound("delivery %s not found", quote(r.DeliveryID))
	}
	if err != nil {
		return err
	}
	detail := store.SafeText(r.Detail)
	if _, err := tx.Exec(ctx, "UPDATE "+table+" SET status = ?, detail = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
		r.Status, detail, now, tenantID, r.DeliveryID); err != nil {
		return err
	}
	summary := fmt.Sprintf("Notification %s %s", channel, r.Status)
	if detail != "" {
		summary += ": " + detail
	}
	return sc.TimelineAdd(ctx, store.TimelineEntry{ContactID: contactID, Kind: "notification." + channel + "." + r.Status, Summary: summary,
		RefType: refType, RefID: notificationID, CorrelationID: corr, CreatedAt: now})
}
