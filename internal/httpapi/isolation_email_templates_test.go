package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// emailTemplateIsolationCases adds the routes of email templates and
// layouts to TestTenantIsolation: tenant B owns a template and a layout;
// A's key neither reads, lists, previews, replaces nor deletes them, nor
// reaches the instance's own through Joist-Tenant "_" (A renders the
// instance's through its own tenant, which is no leak of B's).
func emailTemplateIsolationCases(t *testing.T, s *setup, cases map[string]func(t *testing.T), want404, noLeak func(*testing.T, rawResp)) {
	t.Helper()
	a := s.keyA.Key
	if r := s.raw(t, "PUT", "/v1/email/templates/b-tpl", s.keyB.Key, "", `{"default_locale":"en","layout":"b-frame","variants":{"en":{"subject":"secret-b-subject","text":"secret-b-body"}}}`); r.status != http.StatusCreated {
		t.Fatalf("B's template: %d %s", r.status, r.body)
	}
	if r := s.raw(t, "PUT", "/v1/email/layouts/b-frame", s.keyB.Key, "", `{"html":"<div>secret-b-frame {{.content}}</div>"}`); r.status != http.StatusCreated {
		t.Fatalf("B's layout: %d %s", r.status, r.body)
	}
	noTplLeak := func(t *testing.T, r rawResp) {
		t.Helper()
		noLeak(t, r)
		for _, leak := range []string{"b-tpl", "secret-b-subject", "secret-b-body", "b-frame"} {
			if strings.Contains(r.body, leak) && !strings.Contains(r.path, leak) {
				t.Fatalf("response leaks tenant B's template (%q): %s", leak, r.body)
			}
		}
	}
	stillB := func(t *testing.T) {
		t.Helper()
		for _, p := range []string{"/v1/email/templates/b-tpl", "/v1/email/layouts/b-frame"} {
			r := s.raw(t, "GET", p, s.keyB.Key, "", "")
			if r.status != http.StatusOK || strings.Contains(r.body, "from-a") || !strings.Contains(r.body, `"owner":"tenant"`) {
				t.Fatalf("B's %s changed: %d %s", p, r.status, r.body)
			}
		}
	}
	tpl := `{"default_locale":"en","variants":{"en":{"subject":"from-a","text":"from-a"}}}`
	cases["PUT /v1/email/templates/{name}"] = func(t *testing.T) {
		want404(t, s.raw(t, "PUT", "/v1/email/templates/b-tpl", a, "clinic-b", tpl))
		want404(t, s.raw(t, "PUT", "/v1/email/templates/b-tpl", a, "_", tpl))
		// A's own of the same name is A's alone.
		if r := s.raw(t, "PUT", "/v1/email/templates/b-tpl", a, "", tpl); r.status != http.StatusCreated {
			t.Fatalf("A's own: %d %s", r.status, r.body)
		}
		stillB(t)
		if r := s.raw(t, "DELETE", "/v1/email/templates/b-tpl", a, "", ""); r.status != http.StatusNoContent {
			t.Fatalf("A's own delete: %d %s", r.status, r.body)
		}
	}
	cases["GET /v1/email/templates"] = func(t *testing.T) {
		want404(t, s.raw(t, "GET", "/v1/email/templates", a, "clinic-b", ""))
		want404(t, s.raw(t, "GET", "/v1/email/templates", a, "_", ""))
		noTplLeak(t, s.raw(t, "GET", "/v1/email/templates", a, "", ""))
	}
	cases["GET /v1/email/templates/{name}"] = func(t *testing.T) {
		want404(t, s.raw(t, "GET", "/v1/email/templates/b-tpl", a, "clinic-b", ""))
		r := s.raw(t, "GET", "/v1/email/templates/b-tpl", a, "", "")
		want404(t, r)
		noTplLeak(t, r)
	}
	cases["DELETE /v1/email/templates/{name}"] = func(t *testing.T) {
		want404(t, s.raw(t, "DELETE", "/v1/email/templates/b-tpl", a, "clinic-b", ""))
		want404(t, s.raw(t, "DELETE", "/v1/email/templates/b-tpl", a, "", ""))
		stillB(t)
	}
	cases["POST /v1/email/templates/{name}/preview"] = func(t *testing.T) {
		want404(t, s.raw(t, "POST", "/v1/email/templates/b-tpl/preview", a, "clinic-b", `{}`))
		r := s.raw(t, "POST", "/v1/email/templates/b-tpl/preview", a, "", `{}`)
		want404(t, r)
		noTplLeak(t, r)
	}
	cases["PUT /v1/email/layouts/{name}"] = func(t *testing.T) {
		want404(t, s.raw(t, "PUT", "/v1/email/layouts/b-frame", a, "clinic-b", `{"html":"from-a {{.content}}"}`))
		want404(t, s.raw(t, "PUT", "/v1/email/layouts/b-frame", a, "_", `{"html":"from-a {{.content}}"}`))
		stillB(t)
	}
	cases["GET /v1/email/layouts"] = func(t *testing.T) {
		want404(t, s.raw(t, "GET", "/v1/email/layouts", a, "clinic-b", ""))
		noTplLeak(t, s.raw(t, "GET", "/v1/email/layouts", a, "", ""))
	}
	cases["GET /v1/email/layouts/{name}"] = func(t *testing.T) {
		want404(t, s.raw(t, "GET", "/v1/email/layouts/b-frame", a, "clinic-b", ""))
		r := s.raw(t, "GET", "/v1/email/layouts/b-frame", a, "", "")
		want404(t, r)
		noTplLeak(t, r)
	}
	cases["DELETE /v1/email/layouts/{name}"] = func(t *testing.T) {
		want404(t, s.raw(t, "DELETE", "/v1/email/layouts/b-frame", a, "clinic-b", ""))
		want404(t, s.raw(t, "DELETE", "/v1/email/layouts/b-frame", a, "", ""))
		stillB(t)
	}
}
