package email_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/admin/admintest"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/config"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

const (
	instanceResendKey = "re_instance_key_0123456789abcdef"
	tenantResendKey   = "re_tenant_acme_secret_key_x9f2"
	tenantResendKey2  = "re_tenant_acme_second_key_7k3q"
)

// tenantKeyCaller is a caller with a new key of tenant slug.
func tenantKeyCaller(t *testing.T, env *apptest.Env, tenantID, tenant string) *caller {
	t.Helper()
	_, key, err := env.App.Tenants.KeyCreate(context.Background(), root, tenantID, "test")
	if err != nil {
		t.Fatal(err)
	}
	c := newCaller(t, env, tenant)
	c.Key = key
	return c
}

// dbHolds reports whether any row of table holds s in any of cols.
func dbHolds(t *testing.T, env *apptest.Env, table, cols, s string) bool {
	t.Helper()
	n := 0
	err := env.App.DB.Read(context.Background(), func(tx *store.Tx) error {
		rows, err := tx.Query(context.Background(), "SELECT "+cols+" FROM "+table)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				return err
			}
			if strings.Contains(v, s) {
				n++
			}
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// TestTenantSettings runs a real joist per store whose instance sends
// through one Resend stand-in: a tenant with its own Resend settings sends
// through its own stand-in with its own key, a tenant without through the
// instance's; GET shows hints, never the secret (nor does the database or
// the audit log hold it in clear); a change takes effect at the next send;
// DELETE returns the tenant to the instance's; the tenant's own account has
// its own rate-limit row; a tenant key reaches its own settings only; the
// root key without Joist-Tenant reads the instance's and cannot write them;
// a tenant whose own provider is the outbox may send from any domain.
func TestTenantSettings(t *testing.T) {
	t.Parallel()
	inst := newStandin(t, "resend", instanceResendKey)
	own := newStandin(t, "resend", tenantResendKey)
	own2 := newStandin(t, "resend", tenantResendKey2)
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		for _, s := range []*standin{inst, own, own2} {
			s.reset(nil)
		}
		acme, beta := newTenant(t, env, "acme"), newTenant(t, env, "beta")
		a, b := newCaller(t, env, "acme"), newCaller(t, env, "beta")
		for _, d := range []struct {
			c    *caller
			name string
		}{{a, "acme.example"}, {b, "beta.example"}} {
			if r := d.c.do(t, "POST", "/v1/domains", `{"name":"`+d.name+`","provider":"resend"}`); r.status != http.StatusCreated {
				t.Fatalf("domain: %d %s", r.status, r.body)
			}
		}

		// Nothing of its own yet: the instance's provider, without its hints.
		var got wire.EmailSettings
		r := a.do(t, "GET", "/v1/email/settings", nil)
		r.json(t, &got)
		if r.status != 200 || got.Source != "instance" || got.Provider != "resend" || got.ResendAPIKeyHint != "" || got.ResendAPIBase != "" {
			t.Fatalf("GET before: %d %s", r.status, r.body)
		}
		r = a.do(t, "PUT", "/v1/email/settings", map[string]any{"provider": "resend", "resend_api_key": tenantResendKey,
			"resend_api_base": own.srv.URL})
		r.json(t, &got)
		if r.status != 200 || got.Source != "tenant" || got.Provider != "resend" || got.ResendAPIKeyHint != "re_…x9f2" ||
			got.ResendAPIBase != own.srv.URL || got.Rate != 2 || strings.Contains(string(r.body), tenantResendKey) {
			t.Fatalf("PUT: %d %s", r.status, r.body)
		}
		r = a.do(t, "GET", "/v1/email/settings", nil)
		if r.status != 200 || !strings.Contains(string(r.body), `"source":"tenant"`) || !strings.Contains(string(r.body), "re_…x9f2") ||
			strings.Contains(string(r.body), tenantResendKey) {
			t.Fatalf("GET: %d %s", r.status, r.body)
		}
		if dbHolds(t, env, "email_settings", "base || secret_sealed || secret_hint", tenantResendKey) ||
			dbHolds(t, env, "audit_log", "summary", tenantResendKey) {
			t.Fatal("the tenant's key is stored in clear")
		}
		if !dbHolds(t, env, "audit_log", "action", "email_settings.put") {
			t.Fatal("PUT not audited")
		}
		// The admin's email log says which provider each tenant uses, hints only.
		admintest.MkOperator(t, env, "vera@example.com", auth.RoleViewer)
		v := admintest.NewClient(t, env)
		v.Login("vera@example.com", admintest.Password)
		page := v.Get("/admin/tenants/acme/emails")
		admintest.Want(t, "acme's log", page, http.StatusOK, `id="email-provider"`, "<strong>resend</strong>", "the tenant's own settings",
			"re_…x9f2", own.srv.URL)
		if strings.Contains(page.Body, tenantResendKey) {
			t.Fatal("the admin shows the tenant's key")
		}
		page = v.Get("/admin/tenants/beta/emails")
		admintest.Want(t, "beta's log", page, http.StatusOK, "<strong>resend</strong>", "the instance's provider")
		if strings.Contains(page.Body, inst.srv.URL) || strings.Contains(page.Body, "re_…") {
			t.Fatal("a tenant's page shows the instance's settings")
		}

		// The root key without Joist-Tenant: the instance's, read-only, as hints.
		rootc := newCaller(t, env, "")
		r = rootc.do(t, "GET", "/v1/email/settings", nil)
		r.json(t, &got)
		if r.status != 200 || got.Source != "instance" || !got.ReadOnly || got.ResendAPIKeyHint != "re_…cdef" || got.ResendAPIBase != inst.srv.URL ||
			strings.Contains(string(r.body), instanceResendKey) {
			t.Fatalf("instance GET: %d %s", r.status, r.body)
		}
		for _, m := range []string{"PUT", "DELETE"} {
			before := env.Snapshot(t)
			r = rootc.do(t, m, "/v1/email/settings", `{"provider":"outbox"}`)
			var p problem
			r.json(t, &p)
			if r.status != 400 || p.Code != "instance_settings_from_config" {
				t.Fatalf("instance %s: %d %s", m, r.status, r.body)
			}
			apptestUnchanged(t, env, before)
		}

		// acme sends through its own account, beta through the instance's.
		ea := sendOK(t, a, `{"from":"hello@acme.example","to":"ana@x.example","subject":"A1","text":"a"}`)
		eb := sendOK(t, b, `{"from":"hello@beta.example","to":"bo@x.example","subject":"B1","text":"b"}`)
		ga, gb := waitStatus(t, a, ea.ID, "sent", "failed"), waitStatus(t, b, eb.ID, "sent", "failed")
		if ga.Status != "sent" || gb.Status != "sent" || len(own.requests("A1")) != 1 || len(inst.requests("A1")) != 0 ||
			len(inst.requests("B1")) != 1 || len(own.requests("B1")) != 0 {
			t.Fatalf("A1 %s (own %d, instance %d), B1 %s (own %d, instance %d)", ga.Status, len(own.requests("A1")), len(inst.requests("A1")),
				gb.Status, len(own.requests("B1")), len(inst.requests("B1")))
		}
		if h := own.requests("A1")[0].header.Get("Authorization"); h != "Bearer "+tenantResendKey {
			t.Fatalf("A1 sent with %q", h)
		}
		if !dbHolds(t, env, "email_provider_rate", "provider", "resend:"+acme.ID) {
			t.Fatal("the tenant's own account has no rate-limit row of its own")
		}

		// Delivery events: acme's own Resend source matches acme's email;
		// beta's email has the same provider id (another account) and is untouched.
		if ga.ProviderID != gb.ProviderID {
			t.Fatalf("the stand-ins should give the same first id: %q %q", ga.ProviderID, gb.ProviderID)
		}
		if r := a.do(t, "PUT", "/v1/webhook-sources/resend", `{"provider":"resend","secrets":[{"secret":"`+resendSecret+`"}]}`); r.status/100 != 2 {
			t.Fatalf("source: %d %s", r.status, r.body)
		}
		if st := postResend(t, env, "/in/acme/resend", "msg_own_1", resendEvent("email.delivered", ga.ProviderID, "ana@x.example", "")); st != 200 {
			t.Fatalf("webhook: %d", st)
		}
		waitEmailStatus(t, a, ea.ID, "delivered")
		if gb = waitStatus(t, b, eb.ID, "sent"); eventTypes(gb) != "queued,sent" {
			t.Fatalf("beta's email moved: %s", eventTypes(gb))
		}

		// A change takes effect at the next send.
		if r := a.do(t, "PUT", "/v1/email/settings", map[string]any{"provider": "resend", "resend_api_key": tenantResendKey2,
			"resend_api_base": own2.srv.URL, "rate": 5}); r.status != 200 {
			t.Fatalf("PUT again: %d %s", r.status, r.body)
		}
		e2 := sendOK(t, a, `{"from":"hello@acme.example","to":"ana@x.example","subject":"A2","text":"a"}`)
		if g := waitStatus(t, a, e2.ID, "sent", "failed"); g.Status != "sent" || len(own2.requests("A2")) != 1 || len(own.requests("A2")) != 0 {
			t.Fatalf("after the change: %s, new %d, old %d", g.Status, len(own2.requests("A2")), len(own.requests("A2")))
		}

		// A tenant key reaches its own settings only.
		bk := tenantKeyCaller(t, env, beta.ID, "beta")
		if r := bk.do(t, "GET", "/v1/email/settings", nil); r.status != 200 || !strings.Contains(string(r.body), `"source":"instance"`) {
			t.Fatalf("beta's key, own: %d %s", r.status, r.body)
		}
		spy := tenantKeyCaller(t, env, beta.ID, "acme")
		before := env.Snapshot(t)
		for _, m := range []string{"GET", "PUT", "DELETE"} {
			if r := spy.do(t, m, "/v1/email/settings", `{"provider":"outbox"}`); r.status != 404 || strings.Contains(string(r.body), "x9f2") {
				t.Fatalf("beta's key on acme's settings, %s: %d %s", m, r.status, r.body)
			}
		}
		apptestUnchanged(t, env, before)

		// beta chooses the outbox with its own key: any from, captured.
		if r := bk.do(t, "PUT", "/v1/email/settings", `{"provider":"outbox"}`); r.status != 200 {
			t.Fatalf("beta outbox: %d %s", r.status, r.body)
		}
		e3 := sendOK(t, bk, `{"from":"someone@elsewhere.example","to":"bo@x.example","subject":"B2","text":"b"}`)
		if g := waitStatus(t, b, e3.ID, "captured", "sent", "failed"); g.Status != "captured" || g.Provider != "outbox" || len(inst.requests("B2")) != 0 {
			t.Fatalf("beta's outbox: %+v", g)
		}

		// DELETE: back to the instance's provider (and its from rule).
		if r := a.do(t, "DELETE", "/v1/email/settings", nil); r.status != http.StatusNoContent {
			t.Fatalf("DELETE: %d %s", r.status, r.body)
		}
		if r := a.do(t, "DELETE", "/v1/email/settings", nil); r.status != 404 {
			t.Fatalf("DELETE again: %d %s", r.status, r.body)
		}
		e4 := sendOK(t, a, `{"from":"hello@acme.example","to":"ana@x.example","subject":"A3","text":"a"}`)
		if g := waitStatus(t, a, e4.ID, "sent", "failed"); g.Status != "sent" || len(inst.requests("A3")) != 1 || len(own2.requests("A3")) != 0 {
			t.Fatalf("after DELETE: %s", g.Status)
		}
		if r := a.do(t, "POST", "/v1/emails", `{"from":"x@elsewhere.example","to":"ana@x.example","subject":"A4","text":"a"}`); r.status != 422 {
			t.Fatalf("from elsewhere through the instance's provider: %d %s", r.status, r.body)
		}
		if !dbHolds(t, env, "audit_log", "action", "email_settings.delete") {
			t.Fatal("DELETE not audited")
		}
		if lines := env.ErrorLines(); len(lines) > 0 {
			t.Fatalf("errors logged: %v", lines)
		}
	}, func(cfg *config.Config) {
		cfg.EmailProvider, cfg.ResendAPIKey, cfg.ResendAPIBase = "resend", instanceResendKey, inst.srv.URL
		cfg.EgressAllow = []string{"127.0.0.1"} // the tenant's stand-ins are on loopback, a Customer destination
	})
}

// TestTenantSettingsBadInput: every bad PUT is 400 naming the field and
// stores nothing, on both stores.
func TestTenantSettingsBadInput(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		newTenant(t, env, "acme")
		c := newCaller(t, env, "acme")
		if r := c.do(t, "PUT", "/v1/email/settings", `{"provider":"postmark","postmark_server_token":"pm-token-1234567890"}`); r.status != 200 {
			t.Fatalf("good settings: %d %s", r.status, r.body)
		}
		for _, tc := range []struct {
			name, body, code, field string
		}{
			{"no provider", `{}`, "invalid_provider", "provider"},
			{"unknown provider", `{"provider":"sendgrid"}`, "invalid_provider", "provider"},
			{"resend without key", `{"provider":"resend"}`, "missing_secret", "resend_api_key"},
			{"postmark without token", `{"provider":"postmark"}`, "missing_secret", "postmark_server_token"},
			{"smtp without url", `{"provider":"smtp"}`, "required", "smtp_url"},
			{"bad smtp scheme", `{"provider":"smtp","smtp_url":"http://relay.example"}`, "invalid_smtp_url", "smtp_url"},
			{"bad smtp tls", `{"provider":"smtp","smtp_url":"smtp://u:p@relay.example?tls=maybe"}`, "invalid_smtp_url", "smtp_url"},
			{"smtp without host", `{"provider":"smtp","smtp_url":"smtp://"}`, "invalid_smtp_url", "smtp_url"},
			{"smtp to a private address", `{"provider":"smtp","smtp_url":"smtp://u:p@10.0.0.5:587"}`, "destination_refused", "smtp_url"},
			{"field of another provider", `{"provider":"resend","resend_api_key":"re_1","postmark_server_token":"x"}`, "field_not_for_provider", "postmark_server_token"},
			{"bad base", `{"provider":"resend","resend_api_key":"re_1","resend_api_base":"ftp://x.example"}`, "invalid_url", "resend_api_base"},
			{"base with credentials", `{"provider":"resend","resend_api_key":"re_1","resend_api_base":"https://u:p@x.example"}`, "invalid_url", "resend_api_base"},
			{"base on loopback", `{"provider":"postmark","postmark_server_token":"t","postmark_api_base":"https://127.0.0.1:8443"}`, "destination_refused", "postmark_api_base"},
			{"plain http base", `{"provider":"postmark","postmark_server_token":"t","postmark_api_base":"http://api.example.com"}`, "destination_refused", "postmark_api_base"},
			{"negative rate", `{"provider":"resend","resend_api_key":"re_1","rate":-1}`, "invalid_rate", "rate"},
			{"rate for the outbox", `{"provider":"outbox","rate":3}`, "field_not_for_provider", "rate"},
			{"NUL in key", `{"provider":"resend","resend_api_key":"re_\u0000x"}`, "invalid_text", "resend_api_key"},
			{"invalid UTF-8 in url", "{\"provider\":\"smtp\",\"smtp_url\":\"smtp://relay.example/\xff\"}", "invalid_text", "smtp_url"},
			{"line break in token", `{"provider":"postmark","postmark_server_token":"a\r\nX-Evil: 1"}`, "invalid_secret", "postmark_server_token"},
			{"too long", `{"provider":"resend","resend_api_key":"` + strings.Repeat("k", 3000) + `"}`, "too_long", "resend_api_key"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := env.Snapshot(t)
				r := c.do(t, "PUT", "/v1/email/settings", tc.body)
				var p problem
				r.json(t, &p)
				if r.status != 400 || p.Code != tc.code || p.Field != tc.field {
					t.Fatalf("%d %s, want 400 %s field %s", r.status, r.body, tc.code, tc.field)
				}
				apptestUnchanged(t, env, before)
				var got wire.EmailSettings
				c.do(t, "GET", "/v1/email/settings", nil).json(t, &got)
				if got.Provider != "postmark" || got.PostmarkServerTokenHint != "pm-…7890" {
					t.Fatalf("settings changed: %+v", got)
				}
			})
		}
	})
}

// TestTenantSettingsEgress: a tenant's own relay is a customer destination
// of the guarded client: a name that resolves to loopback passes the PUT
// (only literal addresses can be judged there) and is refused when the
// send job dials it; the email is deferred with the refusal in its event,
// never sent, on both stores.
func TestTenantSettingsEgress(t *testing.T) {
	t.Parallel()
	rl := newRelay(t)
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		newTenant(t, env, "acme")
		c := newCaller(t, env, "acme")
		_, port, _ := strings.Cut(rl.addr, ":")
		if r := c.do(t, "PUT", "/v1/email/settings", `{"provider":"smtp","smtp_url":"smtp://joist:relay-pass@localhost:`+port+`"}`); r.status != 200 ||
			!strings.Contains(string(r.body), `"smtp_url":"smtp://joist@localhost:`+port+`"`) || strings.Contains(string(r.body), "relay-pass") {
			t.Fatalf("PUT: %d %s", r.status, r.body)
		}
		if r := c.do(t, "POST", "/v1/domains", `{"name":"acme.example"}`); r.status != http.StatusCreated {
			t.Fatalf("domain: %d %s", r.status, r.body)
		}
		e := sendOK(t, c, `{"from":"hello@acme.example","to":"ana@x.example","subject":"Refused","text":"x"}`)
		var got wire.Email
		waitFor(t, 20*time.Second, "a deferred event", func() bool {
			got = waitStatus(t, c, e.ID, "queued", "sent", "failed")
			return len(got.Events) > 1
		})
		if got.Status != "queued" || got.Events[1].Type != "deferred" || !strings.Contains(got.Events[1].Detail, "loopback or private") {
			t.Fatalf("a tenant's relay on loopback: %+v", got)
		}
		if n := len(rl.messages()); n != 0 {
			t.Fatalf("the relay got %d messages", n)
		}
		if lines := env.ErrorLines(); len(lines) > 0 {
			t.Fatalf("errors logged: %v", lines)
		}
	})
}
