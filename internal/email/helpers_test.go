package email_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/tenants"
	"github.com/joist-dev/joist/internal/testutil"
)

var root = auth.Actor{Type: auth.ActorRoot, ID: "root:test", AllTenants: true}

// caller is apptest's Caller, answering this package's resp.
type caller struct{ *apptest.Caller }

func newCaller(t *testing.T, env *apptest.Env, tenant string) *caller {
	return &caller{env.Caller(t, tenant)}
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
	r := c.Do(t, method, path, body, hdr...)
	return resp{status: r.Status, body: r.Body, header: r.Header}
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
