package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/egress"
	"github.com/joist-dev/joist/internal/notify/push"
	"github.com/joist-dev/joist/internal/store"
)

// PushMessage is one notification's push content.
type PushMessage struct {
	Title, Body string
	// URL is what a click opens.
	URL string
	// Data is extra key/value data for the app.
	Data map[string]string
	// TTL is how long the services keep it for an offline device (0:
	// now or never).
	TTL time.Duration
	// Urgency is very-low, low, normal (""), or high.
	Urgency string
}

// PushTargetOutcome is what became of the message at one target.
type PushTargetOutcome struct {
	// Platform is web, fcm or apns; ID the subscription's or device's id.
	Platform, ID string
	// Status is delivered, gone (the target was deleted), retry or failed.
	Status push.Status
	// Detail is the service's answer or the error.
	Detail string
	// RetryAfter is the service's Retry-After, for retry.
	RetryAfter time.Duration
}

// PushOutcome is what became of a message at every target of a contact.
type PushOutcome struct {
	Targets []PushTargetOutcome
	// Counts by status.
	Delivered, Removed, Retry, Failed int
}

// Summary is the outcome in a few words, for a delivery's detail.
func (o PushOutcome) Summary() string {
	return fmt.Sprintf("%d delivered, %d removed, %d to retry, %d failed of %d targets", o.Delivered, o.Removed, o.Retry, o.Failed, len(o.Targets))
}

// PushRetryError is Deliver's error when nothing was delivered and at
// least one target asked to be tried again: retry the delivery, not
// sooner than After (the largest Retry-After any target gave; 0 when
// none did).
type PushRetryError struct {
	After  time.Duration
	Detail string
}

func (e *PushRetryError) Error() string {
	if e.After > 0 {
		return fmt.Sprintf("push: retry after %s: %s", e.After, e.Detail)
	}
	return "push: retry: " + e.Detail
}

// PushPermanentError is Deliver's error when nothing was delivered and
// retrying cannot help: every target failed for good or is gone. Reason
// is no_subscription when the contact has no target left, failed
// otherwise.
type PushPermanentError struct {
	Reason, Detail string
}

func (e *PushPermanentError) Error() string { return "push: " + e.Reason + ": " + e.Detail }

// Targets counts the contact's push targets that can be sent to: its web
// push subscriptions, and its devices of the platforms configured. The
// fan-out skips the push channel (reason no_subscription) when it is 0.
func (p *Push) Targets(ctx context.Context, tx *store.Tx, tenantID, contactID string) (int, error) {
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM push_subscriptions WHERE tenant_id = ? AND contact_id = ?`, tenantID, contactID).Scan(&n); err != nil {
		return 0, err
	}
	for platform, on := range map[string]bool{PlatformFCM: p.opts.FCM != nil, PlatformAPNs: p.opts.APNs != nil} {
		if !on {
			continue
		}
		var d int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM push_devices WHERE tenant_id = ? AND contact_id = ? AND platform = ?`,
			tenantID, contactID, platform).Scan(&d); err != nil {
			return 0, err
		}
		n += d
	}
	return n, nil
}

// TargetsMany is Targets for many contacts at once (two queries per 500
// contacts, each contact an index probe: see byKeys): the count of each contact's targets, absent when 0.
func (p *Push) TargetsMany(ctx context.Context, tx *store.Tx, tenantID string, contactIDs []string) (map[string]int, error) {
	out := map[string]int{}
	var platforms []any
	for platform, on := range map[string]bool{PlatformFCM: p.opts.FCM != nil, PlatformAPNs: p.opts.APNs != nil} {
		if on {
			platforms = append(platforms, platform)
		}
	}
	slices.SortFunc(platforms, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
	for lo := 0; lo < len(contactIDs); lo += 500 {
		ids := contactIDs[lo:min(lo+500, len(contactIDs))]
		subs, subsArgs := countByKeys(tx, "push_subscriptions", "contact_id", "", nil, tenantID, ids)
		qs := []struct {
			q    string
			args []any
		}{{subs, subsArgs}}
		if len(platforms) > 0 {
			q, args := countByKeys(tx, "push_devices", "contact_id", "platform IN (?"+store.MorePlaceholders(len(platforms)-1)+")", platforms, tenantID, ids)
			qs = append(qs, struct {
				q    string
				args []any
			}{q, args})
		}
		for _, q := range qs {
			rows, err := tx.Query(ctx, q.q, q.args...)
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				var id string
				var n int
				if err := rows.Scan(&id, &n); err != nil {
					rows.Close()
					return nil, err
				}
				if n > 0 {
					out[id] += n
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// pushSystem is the actor of what the push channel does on its own
// (deleting targets the services say are gone).
var pushSystem = auth.Actor{Type: auth.ActorSystem, ID: "system:push", Role: auth.RoleOwner, AllTenants: true}

// Deliver sends m to every web push subscription and device of the
// contact (contactID is joist's id, ct_...), deletes the targets the
// services say are gone (and expired subscriptions), and answers each
// target's outcome. The error is nil when at least one target took the
// message (a retry would send it there twice); a *PushRetryError when
// none did and one may later; a *PushPermanentError when none can.
func (p *Push) Deliver(ctx context.Context, tenantID, contactID string, m PushMessage) (PushOutcome, error) {
	var subs []PushSubscription
	var devs []Device
	err := p.db.Read(ctx, func(tx *store.Tx) (err error) {
		if subs, err = pushSubsOf(ctx, tx, tenantID, contactID); err != nil {
			return err
		}
		devs, err = devicesOf(ctx, tx, tenantID, contactID)
		return err
	})
	if err != nil {
		return PushOutcome{}, err
	}
	return p.deliverTo(ctx, tenantID, contactID, pushTargets{subs, devs}, m)
}

// pushTargets is a contact's web push subscriptions and devices.
type pushTargets struct {
	subs []PushSubscription
	devs []Device
}

// targetsMany reads the targets of several contacts of a tenant in one
// read transaction (a batch job's, instead of one each).
func (p *Push) targetsMany(ctx context.Context, tenantID string, contactIDs []string) (map[string]pushTargets, error) {
	out := make(map[string]pushTargets, len(contactIDs))
	ids := distinct(contactIDs)
	err := p.db.Read(ctx, func(tx *store.Tx) error {
		for start := 0; start < len(ids); start += 500 {
			part := ids[start:min(start+500, len(ids))]
			in, args := "IN (?"+store.MorePlaceholders(len(part)-1)+")", []any{tenantID}
			if tx.Dialect() == store.Postgres {
				in, args = "= ANY(?::text[])", append(args, part)
			} else {
				for _, id := range part {
					args = append(args, id)
				}
			}
			rows, err := tx.Query(ctx, "SELECT "+pushSubCols+" FROM push_subscriptions WHERE tenant_id = ? AND contact_id "+in+" ORDER BY id", args...)
			subs, err := store.Collect(rows, err, func(r store.Rows) (PushSubscription, error) { return scanPushSub(r) })
			if err != nil {
				return err
			}
			rows, err = tx.Query(ctx, "SELECT "+deviceCols+" FROM push_devices WHERE tenant_id = ? AND contact_id "+in+" ORDER BY id", args...)
			devs, err := store.Collect(rows, err, func(r store.Rows) (Device, error) { return scanDevice(r) })
			if err != nil {
				return err
			}
			for _, s := range subs {
				t := out[s.ContactID]
				t.subs = append(t.subs, s)
				out[s.ContactID] = t
			}
			for _, d := range devs {
				t := out[d.ContactID]
				t.devs = append(t.devs, d)
				out[d.ContactID] = t
			}
		}
		return nil
	})
	return out, err
}

// deliverTo sends m to the contact's targets tg, as Deliver does.
func (p *Push) deliverTo(ctx context.Context, tenantID, contactID string, tg pushTargets, m PushMessage) (PushOutcome, error) {
	var out PushOutcome
	subs, devs := tg.subs, tg.devs
	msg := push.Message{Title: m.Title, Body: m.Body, URL: m.URL, Data: m.Data, TTL: m.TTL, Urgency: m.Urgency}
	now := p.now()
	var gone []PushTargetOutcome
	record := func(t PushTargetOutcome) {
		p.sends.WithLabelValues(t.Platform, string(t.Status)).Inc()
		switch t.Status {
		case push.Delivered:
			out.Delivered++
		case push.Gone:
			out.Removed++
			gone = append(gone, t)
		case push.Retry:
			out.Retry++
		default:
			out.Failed++
		}
		out.Targets = append(out.Targets, t)
	}
	if len(subs) > 0 {
		web, werr := p.webSender(ctx, tenantID)
		for _, s := range subs {
			t := PushTargetOutcome{Platform: PlatformWeb, ID: s.ID}
			switch {
			case s.ExpirationTime != nil && !now.Before(*s.ExpirationTime):
				t.Status, t.Detail = push.Gone, "subscription expired"
			case werr != nil:
				t.Status, t.Detail = push.Failed, werr.Error()
			default:
				o := web.Send(ctx, push.Subscription{Endpoint: s.Endpoint, P256dh: s.P256dh, Auth: s.Auth}, msg)
				t = outcomeOf(PlatformWeb, s.ID, o)
			}
			record(t)
		}
	}
	for _, d := range devs {
		var o push.Outcome
		switch {
		case d.Platform == PlatformFCM && p.opts.FCM != nil:
			o = p.opts.FCM.Send(ctx, d.Token, msg)
		case d.Platform == PlatformAPNs && p.opts.APNs != nil:
			o = p.opts.APNs.Send(ctx, d.Token, msg)
		default:
			continue // not configured: not a target (see Targets)
		}
		record(outcomeOf(d.Platform, d.ID, o))
	}
	if len(gone) > 0 {
		if err := p.prune(ctx, tenantID, contactID, gone); err != nil {
			return out, err
		}
	}
	switch {
	case out.Delivered > 0:
		return out, nil
	case out.Retry > 0:
		re := &PushRetryError{Detail: out.Summary()}
		for _, t := range out.Targets {
			re.After = max(re.After, t.RetryAfter)
		}
		return out, re
	case out.Failed > 0:
		return out, &PushPermanentError{Reason: "failed", Detail: out.Summary() + ": " + firstFailure(out)}
	}
	return out, &PushPermanentError{Reason: "no_subscription", Detail: "the contact has no web push subscription or device left"}
}

// firstFailure is the first failed target's detail.
func firstFailure(o PushOutcome) string {
	for _, t := range o.Targets {
		if t.Status == push.Failed {
			return t.Detail
		}
	}
	return ""
}

// outcomeOf turns a sender's outcome into a target's; a destination the
// egress guard refuses fails for good (retrying cannot help until an
// operator allows it).
func outcomeOf(platform, id string, o push.Outcome) PushTargetOutcome {
	t := PushTargetOutcome{Platform: platform, ID: id, Status: o.Status, Detail: o.String(), RetryAfter: o.RetryAfter}
	if o.Err != nil {
		if _, refused := egress.Refused(o.Err); refused {
			t.Status = push.Failed
			t.Detail = "destination_refused: " + o.Err.Error()
		}
	}
	return t
}

// webSender is the tenant's web push sender: its VAPID keys and subject.
func (p *Push) webSender(ctx context.Context, tenantID string) (*push.WebPush, error) {
	sub, err := p.subject(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if sub == "" {
		return nil, errors.New("no VAPID subject: set JOIST_VAPID_SUBJECT or the tenant's notification settings' vapid_subject (mailto: or https:)")
	}
	if err := push.ValidateSubject(sub); err != nil {
		return nil, err
	}
	keys, err := p.vapidKeys(ctx, pushSystem, tenantID)
	if err != nil {
		return nil, err
	}
	return &push.WebPush{Client: p.web, Keys: keys, Subject: sub, Now: p.now}, nil
}

// prune deletes the targets that are gone, each with an audit entry (by
// the system) and a timeline entry on the contact.
func (p *Push) prune(ctx context.Context, tenantID, contactID string, gone []PushTargetOutcome) error {
	return p.db.Write(ctx, func(tx *store.Tx) error {
		for _, t := range gone {
			table, kind := "push_devices", "device"
			if t.Platform == PlatformWeb {
				table, kind = "push_subscriptions", "push_subscription"
			}
			n, err := tx.Exec(ctx, "DELETE FROM "+table+" WHERE tenant_id = ? AND id = ?", tenantID, t.ID)
			if err != nil {
				return err
			}
			if n == 0 {
				continue // removed meanwhile
			}
			if err := p.core.Audit(ctx, tx, pushSystem, tenantID, "push."+kind+"_pruned", kind, t.ID,
				map[string]string{"platform": t.Platform, "reason": t.Detail}); err != nil {
				return err
			}
			if err := tx.Tenant(tenantID).TimelineAdd(ctx, store.TimelineEntry{ContactID: contactID, Kind: "push.target_removed",
				Summary: t.Platform + " target removed: " + t.Detail, RefType: kind, RefID: t.ID, CreatedAt: p.now()}); err != nil {
				return err
			}
		}
		return nil
	})
}
