package client

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/joist-dev/joist/wire"
)

// WebhookSecret is a provider's signing secret; ExpiresAt retires it (for
// rotation at the provider).
type WebhookSecret = wire.WebhookSecret

// WebhookSourcePut creates or replaces a webhook source. The fields after
// ForwardTypes configure the generic "hmac" provider.
type WebhookSourcePut = wire.WebhookSourcePut

// WebhookSource is a provider's webhooks arriving at IngestURL; its
// secrets are shown only as hints.
type WebhookSource = wire.WebhookSource

// SecretHint names a stored secret without revealing it.
type SecretHint = wire.SecretHint

// WebhookRejection is a refused delivery.
type WebhookRejection = wire.WebhookRejection

// WebhookEvent is a verified delivery. Headers and Body (the raw body as
// text) are set by GetWebhookEvent only.
type WebhookEvent = wire.WebhookEvent

// WebhookEventFilter selects events.
type WebhookEventFilter struct {
	Source          string
	Type            string
	ProviderEventID string
	Statuses        []string
	Since           time.Time
	Until           time.Time
}

// MarshalJSON sends the body of POST /v1/webhook-events/replay.
func (f WebhookEventFilter) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Source          string   `json:"source,omitempty"`
		Type            string   `json:"type,omitempty"`
		ProviderEventID string   `json:"provider_event_id,omitempty"`
		Status          []string `json:"status,omitempty"`
		Since           string   `json:"since,omitempty"`
		Until           string   `json:"until,omitempty"`
	}{f.Source, f.Type, f.ProviderEventID, f.Statuses, rfc3339(f.Since), rfc3339(f.Until)})
}

// WebhookEventListOptions pages through and filters events.
type WebhookEventListOptions struct {
	ListOptions
	WebhookEventFilter
}

// PutWebhookSource creates or replaces the source name; created reports
// which.
func (c *Client) PutWebhookSource(ctx context.Context, name string, in WebhookSourcePut, opts ...Option) (*WebhookSource, bool, error) {
	var s WebhookSource
	status, err := c.do(ctx, http.MethodPut, "/v1/webhook-sources/"+esc(name), nil, in, &s, opts)
	if err != nil {
		return nil, false, err
	}
	return &s, status == http.StatusCreated, nil
}

// ListWebhookSources lists the tenant's sources (one page: the list is
// small).
func (c *Client) ListWebhookSources(ctx context.Context, opts ...Option) (*List[WebhookSource], error) {
	var l List[WebhookSource]
	_, err := c.do(ctx, http.MethodGet, "/v1/webhook-sources", nil, nil, &l, opts)
	return ret(&l, err)
}

// GetWebhookSource finds a source by name.
func (c *Client) GetWebhookSource(ctx context.Context, name string, opts ...Option) (*WebhookSource, error) {
	var s WebhookSource
	_, err := c.do(ctx, http.MethodGet, "/v1/webhook-sources/"+esc(name), nil, nil, &s, opts)
	return ret(&s, err)
}

// DeleteWebhookSource deletes a source; its events stay.
func (c *Client) DeleteWebhookSource(ctx context.Context, name string, opts ...Option) error {
	_, err := c.do(ctx, http.MethodDelete, "/v1/webhook-sources/"+esc(name), nil, nil, nil, opts)
	return err
}

// WebhookRejections lists a source's recent refused deliveries.
func (c *Client) WebhookRejections(ctx context.Context, name string, opts ...Option) (*List[WebhookRejection], error) {
	var l List[WebhookRejection]
	_, err := c.do(ctx, http.MethodGet, "/v1/webhook-sources/"+esc(name)+"/rejections", nil, nil, &l, opts)
	return ret(&l, err)
}

// ListWebhookEvents lists events newest first.
func (c *Client) ListWebhookEvents(ctx context.Context, lo WebhookEventListOptions, opts ...Option) (*List[WebhookEvent], error) {
	v := lo.values()
	for k, s := range map[string]string{"source": lo.Source, "type": lo.Type, "provider_event_id": lo.ProviderEventID,
		"status": strings.Join(lo.Statuses, ","), "since": rfc3339(lo.Since), "until": rfc3339(lo.Until)} {
		if s != "" {
			v.Set(k, s)
		}
	}
	var l List[WebhookEvent]
	_, err := c.do(ctx, http.MethodGet, "/v1/webhook-events", v, nil, &l, opts)
	return ret(&l, err)
}

// GetWebhookEvent finds an event by id, with its headers and body.
func (c *Client) GetWebhookEvent(ctx context.Context, id string, opts ...Option) (*WebhookEvent, error) {
	var e WebhookEvent
	_, err := c.do(ctx, http.MethodGet, "/v1/webhook-events/"+esc(id), nil, nil, &e, opts)
	return ret(&e, err)
}

// ReplayWebhookEvent forwards an event to its source's forward URL again.
func (c *Client) ReplayWebhookEvent(ctx context.Context, id string, opts ...Option) (*WebhookEvent, error) {
	var e WebhookEvent
	_, err := c.do(ctx, http.MethodPost, "/v1/webhook-events/"+esc(id)+"/replay", nil, nil, &e, opts)
	return ret(&e, err)
}

// ReplayWebhookEvents replays every event a filter selects and returns how
// many.
func (c *Client) ReplayWebhookEvents(ctx context.Context, f WebhookEventFilter, opts ...Option) (int, error) {
	var r struct {
		Replayed int `json:"replayed"`
	}
	_, err := c.do(ctx, http.MethodPost, "/v1/webhook-events/replay", nil, f, &r, opts)
	return r.Replayed, err
}
