package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/apitest/openapicheck"
)

// Caller sends API requests to an Env as its root key (or Key) for one
// tenant (Joist-Tenant, when not empty), every exchange validated against
// joist's /openapi.json.
type Caller struct {
	Env    *Env
	Tenant string
	// Key, when set, replaces the root key (a tenant key).
	Key string
	hc  *http.Client
}

// Caller returns a Caller for tenant.
func (e *Env) Caller(t testing.TB, tenant string) *Caller {
	chk := openapicheck.New(t, OpenAPI(t))
	return &Caller{Env: e, Tenant: tenant, hc: &http.Client{Transport: chk.Transport(nil), Timeout: 30 * time.Second}}
}

// Resp is an answer.
type Resp struct {
	Status int
	Body   []byte
	Header http.Header
}

// Do sends a request: body is nil, a string, bytes or a value sent as
// JSON; hdr is header name, value pairs.
func (c *Caller) Do(t testing.TB, method, path string, body any, hdr ...string) Resp {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, c.Env.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	key := c.Env.RootKey
	if c.Key != "" {
		key = c.Key
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if c.Tenant != "" {
		req.Header.Set("Joist-Tenant", c.Tenant)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return Resp{Status: res.StatusCode, Body: b, Header: res.Header}
}

// Client is the Caller's HTTP client (every exchange validated against
// /openapi.json), for requests Do does not make: a public page, a form.
func (c *Caller) Client() *http.Client { return c.hc }
