package email_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/apitest/openapicheck"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/tenants"
	"github.com/joist-dev/joist/internal/testutil"
)

var root = auth.Actor{Type: auth.ActorRoot, ID: "root:test", AllTenants: true}

// caller sends requests as the root key to one tenant, every exchange
// validated against /openapi.json.
type caller struct {
	env    *apptest.Env
	tenant string
	hc     *http.Client
	// key, when set, replaces the root key (a tenant key).
	key string
}

func newCaller(t *testing.T, env *apptest.Env, tenant string) *caller {
	chk := openapicheck.New(t, apptest.OpenAPI(t))
	return &caller{env: env, tenant: tenant, hc: &http.Client{Transport: chk.Transport(nil), Timeout: 30 * time.Second}}
}

type resp struct {
	status int
	body   []byte
	header http.Header
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// problem is a problem+json answer's code and field.
type problem struct {
	Code   string `json:"code"`
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

func (c *caller) do(t *testing.T, method, path string, body any, hdr ...string) resp {
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
	req, err := http.NewRequestWithContext(context.Background(), method, c.env.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	key := c.env.RootKey
	if c.key != "" {
		key = c.key
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if c.tenant != "" {
		req.Header.Set("Joist-Tenant", c.tenant)
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
	return resp{status: res.StatusCode, body: b, header: res.Header}
}

func newTenant(t *testing.T, env *apptest.Env, slug string) store.Tenant {
	t.Helper()
	tn, err := env.App.Tenants.Create(context.Background(), root, tenants.Input{Slug: slug})
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, timeout, func() error {
		if !cond() {
			return fmt.Errorf("waiting for %s", what)
		}
		return nil
	})
}
