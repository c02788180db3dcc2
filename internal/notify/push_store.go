package notify

import (
	"context"
	"errors"
	"time"

	"github.com/joist-dev/joist/internal/store"
)

// Platforms of a push target.
const (
	PlatformWeb  = "web"  // a browser's web push subscription
	PlatformFCM  = "fcm"  // Firebase Cloud Messaging registration token
	PlatformAPNs = "apns" // Apple device token
)

// PushSubscription is a browser's stored web push subscription.
type PushSubscription struct {
	ID, TenantID, ContactID string
	Endpoint, P256dh, Auth  string
	ExpirationTime          *time.Time
	CreatedAt, UpdatedAt    time.Time
}

// Device is a phone's stored registration token.
type Device struct {
	ID, TenantID, ContactID string
	Platform, Token         string
	CreatedAt, UpdatedAt    time.Time
}

const pushSubCols = "id, tenant_id, contact_id, endpoint, p256dh, auth, expiration_time, created_at, updated_at"

func scanPushSub(r store.Row) (PushSubscription, error) {
	var s PushSubscription
	err := r.Scan(&s.ID, &s.TenantID, &s.ContactID, &s.Endpoint, &s.P256dh, &s.Auth, &s.ExpirationTime, &s.CreatedAt, &s.UpdatedAt)
	return s, err
}

const deviceCols = "id, tenant_id, contact_id, platform, token, created_at, updated_at"

func scanDevice(r store.Row) (Device, error) {
	var d Device
	err := r.Scan(&d.ID, &d.TenantID, &d.ContactID, &d.Platform, &d.Token, &d.CreatedAt, &d.UpdatedAt)
	return d, err
}

// pushSubsOf lists a contact's subscriptions.
func pushSubsOf(ctx context.Context, tx *store.Tx, tenantID, contactID string) ([]PushSubscription, error) {
	rows, err := tx.Query(ctx, "SELECT "+pushSubCols+" FROM push_subscriptions WHERE tenant_id = ? AND contact_id = ? ORDER BY id", tenantID, contactID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PushSubscription
	for rows.Next() {
		s, err := scanPushSub(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// devicesOf lists a contact's devices.
func devicesOf(ctx context.Context, tx *store.Tx, tenantID, contactID string) ([]Device, error) {
	rows, err := tx.Query(ctx, "SELECT "+deviceCols+" FROM push_devices WHERE tenant_id = ? AND contact_id = ? ORDER BY id", tenantID, contactID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// pushSubUpsert stores s under its endpoint, replacing the keys and the
// contact of a subscription already there. It answers the stored row and
// whether it is new.
func pushSubUpsert(ctx context.Context, tx *store.Tx, s PushSubscription) (PushSubscription, bool, error) {
	old, err := scanPushSub(tx.QueryRow(ctx, "SELECT "+pushSubCols+" FROM push_subscriptions WHERE tenant_id = ? AND endpoint = ?", s.TenantID, s.Endpoint))
	switch {
	case err == nil:
		s.ID, s.CreatedAt = old.ID, old.CreatedAt
		_, err = tx.Exec(ctx, `UPDATE push_subscriptions SET contact_id = ?, p256dh = ?, auth = ?, expiration_time = ?, updated_at = ? WHERE id = ?`,
			s.ContactID, s.P256dh, s.Auth, s.ExpirationTime, s.UpdatedAt, s.ID)
		return s, false, err
	case !errors.Is(err, store.ErrNotFound):
		return s, false, err
	}
	_, err = tx.Exec(ctx, "INSERT INTO push_subscriptions ("+pushSubCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		s.ID, s.TenantID, s.ContactID, s.Endpoint, s.P256dh, s.Auth, s.ExpirationTime, s.CreatedAt, s.UpdatedAt)
	return s, true, err
}

// deviceUpsert stores d under (platform, token), moving it to d's
// contact when another had it.
func deviceUpsert(ctx context.Context, tx *store.Tx, d Device) (Device, bool, error) {
	old, err := scanDevice(tx.QueryRow(ctx, "SELECT "+deviceCols+" FROM push_devices WHERE tenant_id = ? AND platform = ? AND token = ?", d.TenantID, d.Platform, d.Token))
	switch {
	case err == nil:
		d.ID, d.CreatedAt = old.ID, old.CreatedAt
		_, err = tx.Exec(ctx, `UPDATE push_devices SET contact_id = ?, updated_at = ? WHERE id = ?`, d.ContactID, d.UpdatedAt, d.ID)
		return d, false, err
	case !errors.Is(err, store.ErrNotFound):
		return d, false, err
	}
	_, err = tx.Exec(ctx, "INSERT INTO push_devices ("+deviceCols+") VALUES (?, ?, ?, ?, ?, ?, ?)",
		d.ID, d.TenantID, d.ContactID, d.Platform, d.Token, d.CreatedAt, d.UpdatedAt)
	return d, true, err
}
