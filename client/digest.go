package client

import (
	"context"
	"net/http"

	"github.com/joist-dev/joist/wire"
)

// NotificationDigest is a digest: the email and push of one contact's
// events of a digest type with one key, gathered over the type's window,
// with its notifications and its own deliveries.
type NotificationDigest = wire.NotificationDigestView

// GetDigest finds a digest (ndg_..., the target of a digested delivery).
func (c *Client) GetDigest(ctx context.Context, id string, opts ...Option) (*NotificationDigest, error) {
	var d NotificationDigest
	_, err := c.do(ctx, http.MethodGet, "/v1/digests/"+esc(id), nil, nil, &d, opts)
	return ret(&d, err)
}
