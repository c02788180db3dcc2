package client

import (
	"context"
	"net/http"

	"github.com/joist-dev/joist/wire"
)

// ContactToken is a contact token for an end user's browser or phone.
type ContactToken = wire.ContactToken

// FeedSecret is the tenant's current feed secret (and the previous ones
// still valid during a rotation).
type FeedSecret = wire.FeedSecret

// NotificationSettings are the tenant's CORS origins and VAPID subject.
type NotificationSettings = wire.NotificationSettings

// FeedItem is one notification of a contact's feed.
type FeedItem = wire.FeedItem

// FeedCounts are a contact's unread and unseen notifications.
type FeedCounts = wire.FeedCounts

// CreateContactToken mints a contact token for the contact with the
// app's id contact, valid for ttl (a Go duration; "" is 1h, at most 24h).
// Hand it to the contact's browser; never an API key.
func (c *Client) CreateContactToken(ctx context.Context, contact, ttl string, opts ...Option) (*ContactToken, error) {
	var t ContactToken
	_, err := c.do(ctx, http.MethodPost, "/v1/contacts/"+esc(contact)+"/tokens", nil, wire.ContactTokenCreate{TTL: ttl}, &t, opts)
	return ret(&t, err)
}

// GetFeedSecret reads the tenant's current feed secret, to sign contact
// tokens in the app (JWT HS256, kid in the header).
func (c *Client) GetFeedSecret(ctx context.Context, opts ...Option) (*FeedSecret, error) {
	var s FeedSecret
	_, err := c.do(ctx, http.MethodGet, "/v1/feed-secret", nil, nil, &s, opts)
	return ret(&s, err)
}

// RotateFeedSecret makes a new current feed secret; the previous one
// keeps verifying for 24 hours.
func (c *Client) RotateFeedSecret(ctx context.Context, opts ...Option) (*FeedSecret, error) {
	var s FeedSecret
	_, err := c.do(ctx, http.MethodPost, "/v1/feed-secret/rotate", nil, nil, &s, opts)
	return ret(&s, err)
}

// GetNotificationSettings reads the tenant's notification settings.
func (c *Client) GetNotificationSettings(ctx context.Context, opts ...Option) (*NotificationSettings, error) {
	var s NotificationSettings
	_, err := c.do(ctx, http.MethodGet, "/v1/notification-settings", nil, nil, &s, opts)
	return ret(&s, err)
}

// PutNotificationSettings replaces the tenant's notification settings.
func (c *Client) PutNotificationSettings(ctx context.Context, in NotificationSettings, opts ...Option) (*NotificationSettings, error) {
	var s NotificationSettings
	_, err := c.do(ctx, http.MethodPut, "/v1/notification-settings", nil, in, &s, opts)
	return ret(&s, err)
}

// The methods below are the end user's: call them on a Client made with
// a contact token instead of an API key (New(baseURL, token, hc)).

// Feed lists the token's contact's feed, newest first; status is "" (not
// archived), "unread", "unseen", "archived" or "all".
func (c *Client) Feed(ctx context.Context, status string, lo ListOptions, opts ...Option) (*List[FeedItem], error) {
	q := lo.values()
	if status != "" {
		q.Set("status", status)
	}
	var l List[FeedItem]
	_, err := c.do(ctx, http.MethodGet, "/v1/feed", q, nil, &l, opts)
	return ret(&l, err)
}

// FeedCounts counts the token's contact's unread and unseen notifications.
func (c *Client) FeedCounts(ctx context.Context, opts ...Option) (*FeedCounts, error) {
	var n FeedCounts
	_, err := c.do(ctx, http.MethodGet, "/v1/feed/counts", nil, nil, &n, opts)
	return ret(&n, err)
}

// FeedSetState applies action (seen, read, unread, archive, unarchive)
// to one notification of the token's contact.
func (c *Client) FeedSetState(ctx context.Context, notification, action string, opts ...Option) (*FeedItem, error) {
	var it FeedItem
	_, err := c.do(ctx, http.MethodPost, "/v1/feed/"+esc(notification)+"/"+esc(action), nil, nil, &it, opts)
	return ret(&it, err)
}

// FeedReadAll marks every notification of the token's contact read and
// returns how many changed.
func (c *Client) FeedReadAll(ctx context.Context, opts ...Option) (int, error) {
	var r wire.FeedReadAll
	_, err := c.do(ctx, http.MethodPost, "/v1/feed/read-all", nil, nil, &r, opts)
	return r.Updated, err
}
