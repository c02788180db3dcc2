package notify

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/egress"
	"github.com/joist-dev/joist/internal/notify/push"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// ID prefixes of push targets.
const (
	prefixPushSub = "psub_"
	prefixDevice  = "pdev_"
)

// contactActor is the actor of what an end user does with a contact
// token (audited under the contact's id).
func contactActor(contactID, correlationID, ip string) auth.Actor {
	return auth.Actor{Type: auth.ActorType("contact"), ID: contactID, TenantIDs: nil, IP: ip, CorrelationID: correlationID}
}

func invalidSub(field, msg string) error {
	return &core.Error{Kind: core.ErrInvalid, Code: "invalid_subscription", Field: field, Message: "invalid push subscription: " + field + " " + msg}
}

// VAPIDPublicKey is the tenant's VAPID public key (base64url), made on
// first use.
func (p *Push) VAPIDPublicKey(ctx context.Context, a auth.Actor, tenantID string) (string, error) {
	k, err := p.vapidKeys(ctx, a, tenantID)
	if err != nil {
		return "", err
	}
	return k.PublicKeyString(), nil
}

// Subscribe stores a browser's subscription for the contact (joist's
// id), validated hard: an https endpoint the egress rules allow for
// customer destinations, a 65-byte P-256 key, a 16-byte auth secret, an
// expiration in the future. A subscription already stored under the
// endpoint is replaced (and moved to this contact). It answers whether
// the subscription is new.
func (p *Push) Subscribe(ctx context.Context, a auth.Actor, tenantID, contactID string, in wire.PushSubscriptionInput) (PushSubscription, bool, error) {
	sub := push.Subscription{Endpoint: in.Endpoint, P256dh: in.Keys.P256dh, Auth: in.Keys.Auth}
	if err := push.ValidateSubscription(sub); err != nil {
		var se *push.SubscriptionError
		if errors.As(err, &se) {
			return PushSubscription{}, false, invalidSub(se.Field, se.Message)
		}
		return PushSubscription{}, false, err
	}
	if err := p.guard.CheckURL(egress.Customer, in.Endpoint); err != nil {
		return PushSubscription{}, false, invalidSub("endpoint", "is a destination joist may not reach: "+err.Error())
	}
	now := p.now()
	s := PushSubscription{ID: store.NewID(prefixPushSub), TenantID: tenantID, ContactID: contactID, Endpoint: in.Endpoint,
		P256dh: strings.TrimRight(in.Keys.P256dh, "="), Auth: strings.TrimRight(in.Keys.Auth, "="), CreatedAt: now, UpdatedAt: now}
	if in.ExpirationTime != nil {
		t := time.UnixMilli(*in.ExpirationTime).UTC()
		if !t.After(now) {
			return PushSubscription{}, false, invalidSub("expirationTime", "is in the past: the subscription has expired")
		}
		s.ExpirationTime = &t
	}
	var created bool
	err := p.db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.Tenant(tenantID).ContactGetByID(ctx, contactID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return core.NotFound("contact not found")
			}
			return err
		}
		var err error
		if s, created, err = pushSubUpsert(ctx, tx, s); err != nil {
			return err
		}
		action := "push.subscription_updated"
		if created {
			action = "push.subscription_created"
		}
		if err := p.core.Audit(ctx, tx, a, tenantID, action, "push_subscription", s.ID, map[string]string{"endpoint_origin": origin(s.Endpoint)}); err != nil {
			return err
		}
		if !created {
			return nil
		}
		return tx.Tenant(tenantID).TimelineAdd(ctx, store.TimelineEntry{ContactID: contactID, Kind: "push.subscribed",
			Summary: "web push subscription from " + origin(s.Endpoint), RefType: "push_subscription", RefID: s.ID,
			CorrelationID: a.CorrelationID, CreatedAt: now})
	})
	return s, created, err
}

// origin is a URL's scheme and host (the push service), for audit and
// timeline entries without the endpoint's secret path.
func origin(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	host, _, _ := strings.Cut(rest, "/")
	return scheme + "://" + host
}

// Unsubscribe deletes the contact's subscription of endpoint; another
// contact's is not found.
func (p *Push) Unsubscribe(ctx context.Context, a auth.Actor, tenantID, contactID, endpoint string) error {
	if endpoint == "" {
		return invalidSub("endpoint", "is required")
	}
	return p.db.Write(ctx, func(tx *store.Tx) error {
		var id string
		err := tx.QueryRow(ctx, `SELECT id FROM push_subscriptions WHERE tenant_id = ? AND contact_id = ? AND endpoint = ?`, tenantID, contactID, endpoint).Scan(&id)
		if errors.Is(err, store.ErrNotFound) {
			return core.NotFound("no push subscription with this endpoint")
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM push_subscriptions WHERE id = ?`, id); err != nil {
			return err
		}
		return p.core.Audit(ctx, tx, a, tenantID, "push.subscription_deleted", "push_subscription", id, map[string]string{"endpoint_origin": origin(endpoint)})
	})
}

// validateDevice checks a device's platform and token.
func validateDevice(in wire.DeviceInput) error {
	bad := func(code, field, msg string) error {
		return &core.Error{Kind: core.ErrInvalid, Code: code, Field: field, Message: msg}
	}
	switch in.Platform {
	case PlatformFCM:
		if in.Token == "" || len(in.Token) > 4096 || strings.IndexFunc(in.Token, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
			return bad("invalid_device_token", "token", "an FCM registration token is 1 to 4096 printable ASCII characters without spaces")
		}
	case PlatformAPNs:
		if _, err := hex.DecodeString(in.Token); err != nil || len(in.Token) < 64 || len(in.Token) > 200 {
			return bad("invalid_device_token", "token", "an APNs device token is 64 to 200 hexadecimal characters")
		}
	default:
		return bad("invalid_platform", "platform", `platform must be "fcm" or "apns"`)
	}
	return nil
}

// contactOf finds a contact by external id in tx (404 otherwise).
func contactOf(ctx context.Context, tx *store.Tx, tenantID, externalID string) (store.Contact, error) {
	c, err := tx.Tenant(tenantID).ContactGet(ctx, externalID)
	if errors.Is(err, store.ErrNotFound) {
		return c, core.NotFound("contact %q not found", externalID)
	}
	return c, err
}

// DeviceRegister stores a phone's token for the contact (its external
// id), moving it from another contact that had it. It answers whether
// the device is new.
func (p *Push) DeviceRegister(ctx context.Context, a auth.Actor, tenantID, externalID string, in wire.DeviceInput) (Device, bool, error) {
	if err := p.core.TenantAccess(a, tenantID, auth.PermContactsWrite); err != nil {
		return Device{}, false, err
	}
	if err := validateDevice(in); err != nil {
		return Device{}, false, err
	}
	if in.Platform == PlatformAPNs {
		in.Token = strings.ToLower(in.Token)
	}
	now := p.now()
	d := Device{ID: store.NewID(prefixDevice), TenantID: tenantID, Platform: in.Platform, Token: in.Token, CreatedAt: now, UpdatedAt: now}
	var created bool
	err := p.db.Write(ctx, func(tx *store.Tx) error {
		c, err := contactOf(ctx, tx, tenantID, externalID)
		if err != nil {
			return err
		}
		d.ContactID = c.ID
		if d, created, err = deviceUpsert(ctx, tx, d); err != nil {
			return err
		}
		action := "push.device_updated"
		if created {
			action = "push.device_created"
		}
		if err := p.core.Audit(ctx, tx, a, tenantID, action, "device", d.ID, map[string]string{"contact": externalID, "platform": d.Platform}); err != nil {
			return err
		}
		if !created {
			return nil
		}
		return tx.Tenant(tenantID).TimelineAdd(ctx, store.TimelineEntry{ContactID: c.ID, Kind: "push.device_registered",
			Summary: d.Platform + " device registered", RefType: "device", RefID: d.ID, CorrelationID: a.CorrelationID, CreatedAt: now})
	})
	return d, created, err
}

// DeviceDelete forgets the contact's device with this platform and token.
func (p *Push) DeviceDelete(ctx context.Context, a auth.Actor, tenantID, externalID string, in wire.DeviceInput) error {
	if err := p.core.TenantAccess(a, tenantID, auth.PermContactsWrite); err != nil {
		return err
	}
	if err := validateDevice(in); err != nil {
		return err
	}
	if in.Platform == PlatformAPNs {
		in.Token = strings.ToLower(in.Token)
	}
	return p.db.Write(ctx, func(tx *store.Tx) error {
		c, err := contactOf(ctx, tx, tenantID, externalID)
		if err != nil {
			return err
		}
		var id string
		err = tx.QueryRow(ctx, `SELECT id FROM push_devices WHERE tenant_id = ? AND contact_id = ? AND platform = ? AND token = ?`,
			tenantID, c.ID, in.Platform, in.Token).Scan(&id)
		if errors.Is(err, store.ErrNotFound) {
			return core.NotFound("contact %q has no %s device with this token", externalID, in.Platform)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM push_devices WHERE id = ?`, id); err != nil {
			return err
		}
		return p.core.Audit(ctx, tx, a, tenantID, "push.device_deleted", "device", id, map[string]string{"contact": externalID, "platform": in.Platform})
	})
}

// DeviceList lists the contact's push targets: its devices, then its
// browsers' subscriptions (platform web).
func (p *Push) DeviceList(ctx context.Context, a auth.Actor, tenantID, externalID string) ([]wire.Device, error) {
	if err := p.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return nil, err
	}
	var out []wire.Device
	err := p.db.Read(ctx, func(tx *store.Tx) error {
		c, err := contactOf(ctx, tx, tenantID, externalID)
		if err != nil {
			return err
		}
		devs, err := devicesOf(ctx, tx, tenantID, c.ID)
		if err != nil {
			return err
		}
		subs, err := pushSubsOf(ctx, tx, tenantID, c.ID)
		if err != nil {
			return err
		}
		out = make([]wire.Device, 0, len(devs)+len(subs))
		for _, d := range devs {
			out = append(out, wire.Device{ID: d.ID, Platform: d.Platform, Token: d.Token, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()})
		}
		for _, s := range subs {
			out = append(out, wire.Device{ID: s.ID, Platform: PlatformWeb, Endpoint: s.Endpoint, CreatedAt: s.CreatedAt.UTC(), UpdatedAt: s.UpdatedAt.UTC()})
		}
		return nil
	})
	return out, err
}
