package client

import (
	"context"
	"net/http"

	"github.com/joist-dev/joist/wire"
)

// DeviceInput is a phone's registration token: platform fcm or apns.
type DeviceInput = wire.DeviceInput

// Device is one of a contact's push targets: a phone (fcm, apns) or a
// browser's web push subscription (web).
type Device = wire.Device

// VAPIDPublicKey returns the tenant's VAPID public key (base64url), the
// applicationServerKey browsers subscribe with. It is made on first use.
func (c *Client) VAPIDPublicKey(ctx context.Context, opts ...Option) (string, error) {
	var k wire.VAPIDPublicKey
	_, err := c.do(ctx, http.MethodGet, "/v1/push/vapid-public-key", nil, nil, &k, opts)
	return k.PublicKey, err
}

// RegisterDevice stores a phone's token for the contact (its external
// id); created is false when the token was already registered (it then
// moves to this contact).
func (c *Client) RegisterDevice(ctx context.Context, contact string, in DeviceInput, opts ...Option) (*Device, bool, error) {
	var d Device
	status, err := c.do(ctx, http.MethodPost, "/v1/contacts/"+esc(contact)+"/devices", nil, in, &d, opts)
	if err != nil {
		return nil, false, err
	}
	return &d, status == http.StatusCreated, nil
}

// DeleteDevice removes the contact's phone with this platform and token.
func (c *Client) DeleteDevice(ctx context.Context, contact string, in DeviceInput, opts ...Option) error {
	_, err := c.do(ctx, http.MethodDelete, "/v1/contacts/"+esc(contact)+"/devices", nil, in, nil, opts)
	return err
}

// ListDevices lists the contact's push targets: phones, then browsers.
func (c *Client) ListDevices(ctx context.Context, contact string, opts ...Option) (*List[Device], error) {
	var l List[Device]
	_, err := c.do(ctx, http.MethodGet, "/v1/contacts/"+esc(contact)+"/devices", nil, nil, &l, opts)
	return ret(&l, err)
}
