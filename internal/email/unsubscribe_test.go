package email_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/joist-dev/joist/internal/apitest/openapicheck"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/config"
	"github.com/joist-dev/joist/internal/email"
	"github.com/joist-dev/joist/wire"
)

// messageHeader is the top-level header of the message joist sends for a
// stored email.
func messageHeader(t *testing.T, env *apptest.Env, tenantID, id string) textproto.MIMEHeader {
	t.Helper()
	raw, err := env.App.Email.MessageOf(context.Background(), tenantID, id)
	if err != nil {
		t.Fatal(err)
	}
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw))).ReadMIMEHeader()
	if err != nil {
		t.Fatalf("header of %s: %v", raw, err)
	}
	return h
}

// publicDo sends a request with no key, validated against /openapi.json.
func publicDo(t *testing.T, hc *http.Client, method, url, ctype, body string) resp {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, body: b, header: res.Header}
}

// TestOneClickUnsubscribe (scope point 3, RFC 8058): marketing mail carries
// List-Unsubscribe with a signed https link and List-Unsubscribe-Post;
// transactional mail carries neither (it is Auto-Submitted). GET on the
// link shows a page and changes nothing; POST unsubscribes (twice is
// fine); the tenant's next marketing email to the address is suppressed,
// not attempted, while transactional mail to it and other tenants' mail
// still go. Tampered and malformed tokens, NUL and invalid UTF-8 in the
// path are refused and store nothing.
func TestOneClickUnsubscribe(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		acme, bravo := newTenant(t, env, "acme"), newTenant(t, env, "bravo")
		ca, cb := newCaller(t, env, "acme"), newCaller(t, env, "bravo")
		chk := openapicheck.New(t, apptest.OpenAPI(t))
		hc := &http.Client{Transport: chk.Transport(nil), Timeout: 30 * time.Second}
		const form = "application/x-www-form-urlencoded"

		mk := sendOK(t, ca, `{"from":"hello@acme.example","to":"Ana <Ana@X.example>","subject":"Spring sale","text":"t","category":"marketing"}`)
		tr := sendOK(t, ca, `{"from":"hello@acme.example","to":"ana@x.example","subject":"Receipt","text":"t"}`)
		waitStatus(t, ca, mk.ID, "captured")
		waitStatus(t, ca, tr.ID, "captured")
		h := messageHeader(t, env, acme.ID, mk.ID)
		lu := h.Get("List-Unsubscribe")
		if !strings.HasPrefix(lu, "<"+env.URL+"/u/") || !strings.HasSuffix(lu, ">") || strings.Contains(lu, "mailto:") ||
			h.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" || h.Get("Auto-Submitted") != "" {
			t.Fatalf("marketing headers: %v", h)
		}
		if h := messageHeader(t, env, acme.ID, tr.ID); h.Get("List-Unsubscribe") != "" || h.Get("List-Unsubscribe-Post") != "" ||
			h.Get("Auto-Submitted") != "auto-generated" {
			t.Fatalf("transactional headers: %v", h)
		}
		link := strings.Trim(lu, "<>")
		token := strings.TrimPrefix(link, env.URL+"/u/")
		u, err := env.App.Email.ParseUnsubscribeToken(token)
		if err != nil || u.TenantID != acme.ID || u.Address != "ana@x.example" || u.Scope != "marketing" {
			t.Fatalf("token names %+v, %v", u, err)
		}

		// GET shows the page and changes nothing (scanners prefetch links).
		r := publicDo(t, hc, "GET", link, "", "")
		page := string(r.body)
		if r.status != http.StatusOK || !strings.Contains(page, "ana@x.example") || !strings.Contains(page, `<form method="post"`) ||
			!strings.Contains(page, ">Unsubscribe</button>") || strings.Contains(page, "<script") ||
			!strings.Contains(r.header.Get("Content-Security-Policy"), "default-src 'none'") || r.header.Get("Referrer-Policy") != "no-referrer" {
			t.Fatalf("page: %d %v %s", r.status, r.header, page)
		}
		if n := env.Count(t, "email_suppressions"); n != 0 {
			t.Fatalf("GET unsubscribed: %d rows", n)
		}

		// Refused: nothing stored.
		raw, _ := base64.RawURLEncoding.DecodeString(token)
		flipped := slices.Clone(raw)
		flipped[len(flipped)/2] ^= 1 // an altered address or tenant
		macFlipped := slices.Clone(raw)
		macFlipped[len(macFlipped)-1] ^= 1
		for _, c := range []struct {
			path   string
			status int
			code   string
		}{
			{"/u/" + base64.RawURLEncoding.EncodeToString(flipped), 404, "unknown_token"},
			{"/u/" + base64.RawURLEncoding.EncodeToString(macFlipped), 404, "unknown_token"},
			{"/u/" + token[:len(token)-4], 404, "unknown_token"},
			{"/u/" + token + "=", 400, "invalid_token"},
			{"/u/" + token[:10] + "+" + token[11:], 400, "invalid_token"},
			{"/u/abc", 400, "invalid_token"},
			{"/u/" + token[:20] + "%00" + token[20:], 400, "invalid_text"},
			{"/u/" + token[:20] + "%ff" + token[20:], 400, "invalid_text"},
		} {
			r := publicDo(t, hc, "POST", env.URL+c.path, form, "List-Unsubscribe=One-Click")
			var p problem
			r.json(t, &p)
			if r.status != c.status || p.Code != c.code {
				t.Errorf("POST %s: %d %s, want %d %s", c.path, r.status, r.body, c.status, c.code)
			}
			if g := publicDo(t, hc, "GET", env.URL+c.path, "", ""); g.status != c.status {
				t.Errorf("GET %s: %d %s, want %d", c.path, g.status, g.body, c.status)
			}
		}
		if n := env.Count(t, "email_suppressions"); n != 0 {
			t.Fatalf("a refused token stored %d rows", n)
		}
		if r := publicDo(t, hc, "PUT", link, "", ""); r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "GET, POST" {
			t.Fatalf("PUT: %d %v", r.status, r.header)
		}

		// POST unsubscribes; twice is the same as once.
		for range 2 {
			r := publicDo(t, hc, "POST", link, form, "List-Unsubscribe=One-Click")
			if r.status != http.StatusOK || !strings.Contains(string(r.body), "ana@x.example") {
				t.Fatalf("unsubscribe: %d %s", r.status, r.body)
			}
		}
		if n := env.Count(t, "email_suppressions"); n != 1 {
			t.Fatalf("%d unsubscribe rows, want 1", n)
		}

		// The next marketing email to the address is suppressed, not sent;
		// transactional mail to it, marketing to others and another
		// tenant's marketing to it still go.
		m2 := sendOK(t, ca, `{"from":"hello@acme.example","to":"ANA@x.example","subject":"Summer sale","text":"t","category":"marketing"}`)
		got := waitStatus(t, ca, m2.ID, "suppressed", "captured")
		if got.Status != "suppressed" || got.Provider != "" || got.SentAt != nil || len(got.Events) != 2 || got.Events[1].Type != "suppressed" ||
			!strings.Contains(got.Events[1].Detail, "ana@x.example") {
			t.Fatalf("marketing after unsubscribe: %+v", got)
		}
		var list wire.List[wire.Email]
		ca.do(t, "GET", "/v1/emails?status=suppressed", nil).json(t, &list)
		if len(list.Data) != 1 || list.Data[0].ID != m2.ID {
			t.Fatalf("status=suppressed lists %+v", list.Data)
		}
		for _, c := range []struct {
			c    *caller
			body string
		}{
			{ca, `{"from":"hello@acme.example","to":"ana@x.example","subject":"Password reset","text":"t"}`},
			{ca, `{"from":"hello@acme.example","to":"bo@x.example","subject":"Summer sale","text":"t","category":"marketing"}`},
			{cb, `{"from":"hi@bravo.example","to":"ana@x.example","subject":"Bravo news","text":"t","category":"marketing"}`},
		} {
			e := sendOK(t, c.c, c.body)
			if got := waitStatus(t, c.c, e.ID, "suppressed", "captured"); got.Status != "captured" {
				t.Fatalf("%s: %+v", c.body, got)
			}
		}
		if ok, err := env.App.Email.Unsubscribed(context.Background(), bravo.ID, "ana@x.example", email.ScopeMarketing); ok || err != nil {
			t.Fatalf("acme's unsubscribe reached bravo: %v %v", ok, err)
		}
		if lines := env.ErrorLines(); len(lines) > 0 {
			t.Fatalf("errors logged: %v", lines)
		}
	})
}

// TestUnsubscribeHeadersSigned: over SMTP with joist's DKIM key, the
// signature of a marketing message covers List-Unsubscribe and
// List-Unsubscribe-Post (RFC 8058 requires it), and verifies through a DNS
// server in the test; a link altered on the way fails it.
func TestUnsubscribeHeadersSigned(t *testing.T) {
	t.Parallel()
	rl := newRelay(t)
	px := newDNSProxy(t)
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		rl.mu.Lock()
		rl.got, rl.attempts, rl.fail = nil, 0, nil
		rl.mu.Unlock()
		newTenant(t, env, "acme")
		c := newCaller(t, env, "acme")
		r := c.do(t, "POST", "/v1/domains", `{"name":"acme.example"}`)
		var d wire.Domain
		r.json(t, &d)
		px.serve(t, d.Records)
		e := sendOK(t, c, `{"from":"hello@acme.example","to":"ana@x.example","subject":"Sale","html":"<p>Sale</p>","category":"marketing"}`)
		waitStatus(t, c, e.ID, "sent")
		msgs := rl.messages()
		if len(msgs) != 1 {
			t.Fatalf("relay got %d messages", len(msgs))
		}
		data := msgs[0].data
		vs, err := dkim.VerifyWithOptions(bytes.NewReader(data), &dkim.VerifyOptions{LookupTXT: lookupTXT(px.addr)})
		if err != nil || len(vs) != 1 || vs[0].Err != nil {
			t.Fatalf("verify: %v %v\n%s", err, vs, data)
		}
		for _, h := range []string{"list-unsubscribe", "list-unsubscribe-post"} {
			if !slices.ContainsFunc(vs[0].HeaderKeys, func(k string) bool { return strings.EqualFold(k, h) }) {
				t.Fatalf("%s is not signed: %v", h, vs[0].HeaderKeys)
			}
		}
		bad := bytes.Replace(data, []byte(env.URL+"/u/"), []byte("https://evil.example/u/"), 1)
		if bytes.Equal(bad, data) {
			t.Fatalf("no unsubscribe link in\n%s", data)
		}
		if vs, _ := dkim.VerifyWithOptions(bytes.NewReader(bad), &dkim.VerifyOptions{LookupTXT: lookupTXT(px.addr)}); len(vs) == 0 || vs[0].Err == nil {
			t.Fatal("a message with an altered unsubscribe link verified")
		}
	}, smtpConfig(rl), func(cfg *config.Config) { cfg.DNSServer = px.addr })
}
