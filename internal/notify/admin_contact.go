package notify

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/joist-dev/joist/internal/admin"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// contactNote is one of a contact's notifications on the contact card:
// its content, its state in the feed and its deliveries.
type contactNote struct {
	ID, EventID, Type, Title string
	InFeed                   bool
	SeenAt, ReadAt, Archived *time.Time
	CreatedAt                time.Time
	Deliveries               []deliveryRow
}

// State is the notification's state in the contact's feed.
func (n contactNote) State() string {
	switch {
	case !n.InFeed:
		return "not in feed"
	case n.Archived != nil:
		return "archived"
	case n.ReadAt != nil:
		return "read"
	case n.SeenAt != nil:
		return "seen"
	}
	return "unseen"
}

// pushTarget is a device or browser subscription without its secret: the
// page shows a hint of the token or endpoint, never the whole.
type pushTarget struct {
	ID, Platform, Hint   string
	CreatedAt, UpdatedAt time.Time
}

type contactCard struct {
	Tenant        store.Tenant
	Contact       store.Contact
	Notifications []contactNote
	More          bool // more notifications than the card lists
	Targets       []pushTarget
	Preferences   []wire.NotificationPreference
	Overrides     bool   // the contact has overrides of their own
	CanForget     bool   // the operator may forget a push target
	CSRF          string // the session's token, for the forget forms
}

// contactPanel gives the contact's latest notifications, push targets and
// effective preferences.
func (p *notifyPages) contactPanel(r *http.Request, op *admin.Op, t store.Tenant, c *store.Contact) (any, error) {
	ctx := r.Context()
	if err := p.svc.core.TenantAccess(op.Actor, t.ID, auth.PermRead); err != nil {
		return nil, err
	}
	card := &contactCard{Tenant: t, Contact: *c, CanForget: op.Can(auth.PermContactsWrite), CSRF: op.Session.CSRFToken}
	var err error
	if card.Notifications, card.More, err = p.svc.contactNotes(ctx, t.ID, t.Slug, c.ID, contactNotesMax); err != nil {
		return nil, err
	}
	if p.push != nil {
		targets, err := p.push.DeviceList(ctx, op.Actor, t.ID, c.ExternalID)
		if err != nil {
			return nil, err
		}
		for _, d := range targets {
			h := hint(d.Token)
			if d.Platform == PlatformWeb {
				h = endpointHint(d.Endpoint)
			}
			card.Targets = append(card.Targets, pushTarget{ID: d.ID, Platform: d.Platform, Hint: h, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt})
		}
	}
	prefs, err := p.svc.Preferences(ctx, t.ID, c.ID)
	if err != nil {
		return nil, err
	}
	card.Preferences = prefs.Effective
	o := prefs.Overrides
	card.Overrides = len(o.Channels)+len(o.Groups)+len(o.Types) > 0
	return card, nil
}

// hint shows the first and last 6 characters of a device token.
func hint(tok string) string {
	if utf8.RuneCountInString(tok) <= 16 {
		return strings.Repeat("•", 8)
	}
	r := []rune(tok)
	return string(r[:6]) + "…" + string(r[len(r)-6:])
}

// endpointHint shows a web push endpoint's origin and the end of its
// path (the path names the browser's subscription at its push service).
func endpointHint(endpoint string) string {
	o := origin(endpoint)
	rest := strings.TrimPrefix(endpoint, o)
	r := []rune(rest)
	if len(r) > 8 {
		return o + "/…" + string(r[len(r)-6:])
	}
	return o + "/…"
}

// contactNotes lists the contact's newest notifications (limit of them)
// with their deliveries, and whether there are more.
func (s *Service) contactNotes(ctx context.Context, tenantID, slug, contactID string, limit int) ([]contactNote, bool, error) {
	var out []contactNote
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, event_id, type, title, in_feed, seen_at, read_at, archived_at, created_at FROM notifications
			WHERE tenant_id = ? AND contact_id = ? ORDER BY id DESC LIMIT ?`, tenantID, contactID, limit+1)
		out, err = store.Collect(rows, err, func(r store.Rows) (contactNote, error) {
			var n contactNote
			return n, r.Scan(&n.ID, &n.EventID, &n.Type, &n.Title, &n.InFeed, &n.SeenAt, &n.ReadAt, &n.Archived, &n.CreatedAt)
		})
		if err != nil || len(out) == 0 {
			return err
		}
		args := []any{tenantID}
		for _, n := range out {
			args = append(args, n.ID)
		}
		rows, err = tx.Query(ctx, `SELECT id, notification_id, channel, status, reason, detail, target, updated_at FROM notification_deliveries
			WHERE tenant_id = ? AND notification_id IN (?`+store.MorePlaceholders(len(out)-1)+`) ORDER BY notification_id, id`, args...)
		ds, err := store.Collect(rows, err, func(r store.Rows) (Delivery, error) {
			var d Delivery
			return d, r.Scan(&d.ID, &d.NotificationID, &d.Channel, &d.Status, &d.Reason, &d.Detail, &d.Target, &d.UpdatedAt)
		})
		if err != nil {
			return err
		}
		for i := range out {
			for _, ch := range Channels {
				for _, d := range ds {
					if d.NotificationID == out[i].ID && d.Channel == ch {
						out[i].Deliveries = append(out[i].Deliveries, deliveryRow{Delivery: d, Slug: slug})
					}
				}
			}
		}
		return nil
	})
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, err
}

// forgetTarget deletes one of the contact's devices or browser
// subscriptions (by its id, as the card lists them): push messages no
// longer go to it. It needs contacts.write; the push service audits it
// (push.device_deleted, push.subscription_deleted).
func (p *notifyPages) forgetTarget(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	t, err := p.a.Tenant(r, op)
	if err != nil {
		return err
	}
	if p.push == nil {
		return core.NotFound("push is not configured")
	}
	ctx, ext, id := r.Context(), r.PathValue("contact"), r.PathValue("target")
	contactID, err := p.svc.contactID(ctx, op.Actor, t.ID, ext, auth.PermContactsWrite)
	if err != nil {
		return err
	}
	targets, err := p.push.DeviceList(ctx, op.Actor, t.ID, ext)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(targets, func(d wire.Device) bool { return d.ID == id })
	if i < 0 {
		return core.NotFound("contact %s has no device or browser %s", quote(ext), quote(id))
	}
	d := targets[i]
	if d.Platform == PlatformWeb {
		err = p.push.Unsubscribe(ctx, op.Actor, t.ID, contactID, d.Endpoint)
	} else {
		err = p.push.DeviceDelete(ctx, op.Actor, t.ID, ext, wire.DeviceInput{Platform: d.Platform, Token: d.Token})
	}
	if err != nil {
		return err
	}
	return admin.Redirect(w, r, "/admin/tenants/"+url.PathEscape(t.Slug)+"/contacts/"+url.PathEscape(ext)+"?flash=push_target_forgotten")
}
