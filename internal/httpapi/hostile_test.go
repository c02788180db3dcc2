package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/store/storetest"
)

// TestHostileTextIsRefusedOnBothStores: a NUL byte or invalid UTF-8
// anywhere joist would store or look up text gets 400 invalid_text naming
// where it was, on SQLite as on PostgreSQL (which refuses such text); no
// table changes and no ERROR line is logged, from anonymous requests too.
func TestHostileTextIsRefusedOnBothStores(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		s := newSetup(t, env)
		root, a := env.RootKey, s.keyA.Key
		job := func(extra string) string {
			return `{"url":"http://127.0.0.1:9/x"` + extra + `}`
		}
		cases := []struct {
			name, method, path, key, body string
			hdr                           []string
			field                         string
		}{
			{"NUL in ingest tenant", "POST", "/in/%00/x", "", `{}`, nil, "path.tenant"},
			{"invalid UTF-8 in ingest tenant", "POST", "/in/%ff/x", "", `{}`, nil, "path.tenant"},
			{"invalid UTF-8 in ingest source", "POST", "/in/_/%ff", "", `{}`, nil, "path.source"},
			{"invalid UTF-8 in contact id", "GET", "/v1/contacts/%ff", a, "", nil, "path.contact"},
			{"NUL in contact id", "PUT", "/v1/contacts/a%00b", a, `{}`, nil, "path.contact"},
			{"invalid UTF-8 in job id", "GET", "/v1/jobs/job_%ff", a, "", nil, "path.job"},
			{"NUL in search", "GET", "/v1/contacts?q=%00", a, "", nil, "query.q"},
			{"invalid UTF-8 in search", "GET", "/v1/contacts?q=caf%e9", a, "", nil, "query.q"},
			{"NUL in event type filter", "GET", "/v1/webhook-events?type=%00", a, "", nil, "query.type"},
			{"NUL in contact name", "PUT", "/v1/contacts/x", a, `{"name":"a\u0000b"}`, nil, "name"},
			{"invalid UTF-8 in contact name", "PUT", "/v1/contacts/x", a, "{\"name\":\"caf\xe9\"}", nil, "name"},
			{"NUL in metadata value", "PUT", "/v1/contacts/x", a, `{"metadata":{"plan":"p\u0000"}}`, nil, "metadata.plan"},
			{"NUL in metadata key", "PUT", "/v1/contacts/x", a, `{"metadata":{"pl\u0000an":"p"}}`, nil, "metadata (a key)"},
			{"invalid UTF-8 deep in metadata", "PUT", "/v1/contacts/x", a, "{\"metadata\":{\"a\":[1,{\"b\":\"\xff\"}]}}", nil, "metadata.a[1].b"},
			{"NUL in job body", "POST", "/v1/jobs", a, job(`,"body":{"x":"\u0000"}`), nil, "body.x"},
			{"NUL in job header value", "POST", "/v1/jobs", a, job(`,"headers":{"X-A":"1\u00002"}`), nil, "headers.X-A"},
			{"NUL in unique key", "POST", "/v1/jobs", a, job(`,"unique_key":"k\u0000"`), nil, "unique_key"},
			{"invalid UTF-8 in idempotency key", "POST", "/v1/tenants", root, `{"slug":"fine"}`, []string{"Idempotency-Key", "caf\xe9"}, "header.Idempotency-Key"},
			{"invalid UTF-8 in tenant header", "GET", "/v1/contacts", root, "", []string{"Joist-Tenant", "\xff"}, "header.Joist-Tenant"},
			{"NUL in tenant slug", "POST", "/v1/tenants", root, `{"slug":"a\u0000"}`, nil, "slug"},
			{"NUL in source name", "PUT", "/v1/webhook-sources/s%00", a, `{}`, nil, "path.name"},
		}
		before := env.Snapshot(t)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := s.raw(t, c.method, c.path, c.key, "", c.body, c.hdr...)
				var p struct{ Code, Field, Detail string }
				if err := json.Unmarshal([]byte(r.body), &p); err != nil || r.status != http.StatusBadRequest {
					t.Fatalf("status %d, want 400: %s", r.status, r.body)
				}
				if p.Code != "invalid_text" || p.Field != c.field || !strings.Contains(p.Detail, c.field) {
					t.Fatalf("problem %+v, want invalid_text for field %q", p, c.field)
				}
			})
		}
		storetest.Unchanged(t, before, env.Snapshot(t))
		if lines := env.ErrorLines(); len(lines) > 0 {
			t.Fatalf("hostile input logged ERROR lines:\n%s", strings.Join(lines, "\n"))
		}
	})
}
