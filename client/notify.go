package client

import (
	"context"
	"net/http"

	"github.com/joist-dev/joist/wire"
)

// NotificationTypePut creates or replaces a notification type: its
// channels' content (Go text/template), defaults, critical, group, digest.
type NotificationTypePut = wire.NotificationTypePut

// NotificationType is a stored notification type.
type NotificationType = wire.NotificationType

// NotifyEventPost posts an event to its recipients.
type NotifyEventPost = wire.NotifyEventPost

// NotifyEvent is a posted event and its fan-out's progress.
type NotifyEvent = wire.NotifyEvent

// Notification is one recipient's notification with each channel's delivery.
type Notification = wire.Notification

// NotificationPreferencesPut replaces a contact's preference overrides.
type NotificationPreferencesPut = wire.NotificationPreferencesPut

// NotificationPreferences are a contact's overrides and effective values.
type NotificationPreferences = wire.NotificationPreferences

// PutNotificationType creates or replaces the notification type name;
// created reports which.
func (c *Client) PutNotificationType(ctx context.Context, name string, in NotificationTypePut, opts ...Option) (*NotificationType, bool, error) {
	var t NotificationType
	status, err := c.do(ctx, http.MethodPut, "/v1/notification-types/"+esc(name), nil, in, &t, opts)
	if err != nil {
		return nil, false, err
	}
	return &t, status == http.StatusCreated, nil
}

// GetNotificationType finds a type as the tenant resolves it (its own,
// else the instance's).
func (c *Client) GetNotificationType(ctx context.Context, name string, opts ...Option) (*NotificationType, error) {
	var t NotificationType
	_, err := c.do(ctx, http.MethodGet, "/v1/notification-types/"+esc(name), nil, nil, &t, opts)
	return ret(&t, err)
}

// ListNotificationTypes lists the types the tenant resolves, by name.
func (c *Client) ListNotificationTypes(ctx context.Context, lo ListOptions, opts ...Option) (*List[NotificationType], error) {
	var l List[NotificationType]
	_, err := c.do(ctx, http.MethodGet, "/v1/notification-types", lo.values(), nil, &l, opts)
	return ret(&l, err)
}

// DeleteNotificationType deletes the caller's own type name.
func (c *Client) DeleteNotificationType(ctx context.Context, name string, opts ...Option) error {
	_, err := c.do(ctx, http.MethodDelete, "/v1/notification-types/"+esc(name), nil, nil, nil, opts)
	return err
}

// PostEvent posts an event; joist answers once it and its fan-out job are
// stored (use IdempotencyKey to make a retry safe).
func (c *Client) PostEvent(ctx context.Context, in NotifyEventPost, opts ...Option) (*NotifyEvent, error) {
	var e NotifyEvent
	_, err := c.do(ctx, http.MethodPost, "/v1/events", nil, in, &e, opts)
	return ret(&e, err)
}

// GetEvent finds an event with its counts and skipped recipients.
func (c *Client) GetEvent(ctx context.Context, id string, opts ...Option) (*NotifyEvent, error) {
	var e NotifyEvent
	_, err := c.do(ctx, http.MethodGet, "/v1/events/"+esc(id), nil, nil, &e, opts)
	return ret(&e, err)
}

// ListEvents lists the tenant's events, newest first; typ ("" for all)
// narrows to one type.
func (c *Client) ListEvents(ctx context.Context, typ string, lo ListOptions, opts ...Option) (*List[NotifyEvent], error) {
	var l List[NotifyEvent]
	q := lo.values()
	if typ != "" {
		q.Set("type", typ)
	}
	_, err := c.do(ctx, http.MethodGet, "/v1/events", q, nil, &l, opts)
	return ret(&l, err)
}

// ListEventNotifications lists an event's notifications with their deliveries.
func (c *Client) ListEventNotifications(ctx context.Context, id string, lo ListOptions, opts ...Option) (*List[Notification], error) {
	var l List[Notification]
	_, err := c.do(ctx, http.MethodGet, "/v1/events/"+esc(id)+"/notifications", lo.values(), nil, &l, opts)
	return ret(&l, err)
}

// GetPreferences returns a contact's notification preferences.
func (c *Client) GetPreferences(ctx context.Context, contact string, opts ...Option) (*NotificationPreferences, error) {
	var p NotificationPreferences
	_, err := c.do(ctx, http.MethodGet, "/v1/contacts/"+esc(contact)+"/preferences", nil, nil, &p, opts)
	return ret(&p, err)
}

// PutPreferences replaces a contact's notification preference overrides.
func (c *Client) PutPreferences(ctx context.Context, contact string, in NotificationPreferencesPut, opts ...Option) (*NotificationPreferences, error) {
	var p NotificationPreferences
	_, err := c.do(ctx, http.MethodPut, "/v1/contacts/"+esc(contact)+"/preferences", nil, in, &p, opts)
	return ret(&p, err)
}
