// Package client is the Go client for joist's HTTP API. It freezes the
// contract of DESIGN section 4: bearer keys, the Joist-Tenant header,
// Idempotency-Key, Joist-Correlation-Id, list envelopes with cursors and
// RFC 9457 problems (returned as *Error).
//
//	c := client.New("http://127.0.0.1:8080", os.Getenv("JOIST_ROOT_KEY"))
//	t, err := c.CreateTenant(ctx, client.TenantCreate{Slug: "acme"})
//	ct, created, err := c.Tenant("acme").UpsertContact(ctx, "user_42", client.ContactUpsert{Email: client.String("ann@example.com")})
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/joist-dev/joist/wire"
)

// Client talks to one joist. It is safe for concurrent use; Tenant returns a
// copy bound to one tenant.
type Client struct {
	base   string
	key    string
	tenant string
	hc     *http.Client
}

// New returns a client for the joist at baseURL using key (a root key or a
// tenant key). hc may be nil for http.DefaultClient.
func New(baseURL, key string, hc ...*http.Client) *Client {
	c := &Client{base: strings.TrimRight(baseURL, "/"), key: key, hc: http.DefaultClient}
	if len(hc) > 0 && hc[0] != nil {
		c.hc = hc[0]
	}
	return c
}

// Tenant returns a copy of c that sends Joist-Tenant: ref (a slug or tn_ id)
// on tenant-scoped calls. A tenant key needs no Tenant call.
func (c *Client) Tenant(ref string) *Client {
	cp := *c
	cp.tenant = ref
	return &cp
}

// Error is a problem returned by joist (RFC 9457).
type Error struct {
	Status        int    `json:"status"`
	Type          string `json:"type"`
	Title         string `json:"title"`
	Detail        string `json:"detail"`
	Code          string `json:"code"`
	CorrelationID string `json:"correlation_id"`
	ExistingID    string `json:"existing_id"`
	// Field says where invalid input was (with invalid_text: "name",
	// "metadata.plan", "query.q", "path.contact", "header.Idempotency-Key").
	Field string `json:"field"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("joist: %d %s: %s", e.Status, e.Code, e.Detail)
}

// Option changes one request.
type Option func(*http.Request, *respInfo)

type respInfo struct{ header *http.Header }

// IdempotencyKey sends Idempotency-Key: key.
func IdempotencyKey(key string) Option {
	return func(r *http.Request, _ *respInfo) { r.Header.Set("Idempotency-Key", key) }
}

// CorrelationID sends Joist-Correlation-Id: id.
func CorrelationID(id string) Option {
	return func(r *http.Request, _ *respInfo) { r.Header.Set("Joist-Correlation-Id", id) }
}

// ResponseHeader stores the response headers in *h (to read
// Joist-Correlation-Id or Idempotent-Replayed).
func ResponseHeader(h *http.Header) Option {
	return func(_ *http.Request, ri *respInfo) { ri.header = h }
}

// String returns a pointer to s, for optional fields.
func String(s string) *string { return &s }

// List is one page of a list.
type List[T any] = wire.List[T]

// ListOptions pages through a list.
type ListOptions struct {
	Limit  int
	Cursor string
}

func (o ListOptions) values() url.Values {
	v := url.Values{}
	if o.Limit > 0 {
		v.Set("limit", fmt.Sprint(o.Limit))
	}
	if o.Cursor != "" {
		v.Set("cursor", o.Cursor)
	}
	return v
}

// do sends a request and decodes a 2xx JSON response into out; it returns
// the status code.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, in, out any, opts []Option) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if c.tenant != "" {
		req.Header.Set("Joist-Tenant", c.tenant)
	}
	var ri respInfo
	for _, o := range opts {
		o(req, &ri)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if ri.header != nil {
		*ri.header = resp.Header.Clone()
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode >= 300 {
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(b, e) != nil || e.Code == "" {
			e.Code = "http_" + fmt.Sprint(resp.StatusCode)
			e.Detail = strings.TrimSpace(string(b))
		}
		e.Status = resp.StatusCode
		return resp.StatusCode, e
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("joist: decode %s %s response: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

func esc(s string) string { return url.PathEscape(s) }
