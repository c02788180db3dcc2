package notify_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/apitest/openapicheck"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/config"
	"github.com/joist-dev/joist/internal/notify/push/pushtest"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/tenants"
)

var pushRoot = auth.Actor{Type: auth.ActorRoot, ID: "root:test", AllTenants: true}

// stubContactAuth stands in for the feed's contact tokens: the bearer
// "ctok:<tenant id>:<contact id>" speaks for that contact.
type stubContactAuth struct{}

func (stubContactAuth) Contact(r *http.Request) (string, string, error) {
	v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ctok:")
	if !ok {
		return "", "", errors.New("not a contact token")
	}
	tn, ct, ok := strings.Cut(v, ":")
	if !ok {
		return "", "", errors.New("malformed contact token")
	}
	return tn, ct, nil
}

// pushServices are the three stand-ins and the joist configuration that
// reaches them.
type pushServices struct {
	web  *pushtest.WebPushService
	fcm  *pushtest.FCMService
	apns *pushtest.APNsService
}

func newPushServices(t *testing.T) *pushServices {
	return &pushServices{web: pushtest.NewWebPushService(t), fcm: pushtest.NewFCMService(t), apns: pushtest.NewAPNsService(t)}
}

// configure points joist at the stand-ins: their CA (JOIST_PUSH_CA),
// loopback allowed for customer destinations, the FCM service account
// as content and the APNs key as a file.
func (s *pushServices) configure(t *testing.T) func(*config.Config) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	pem := append(append(s.web.CAPEM(), s.apns.CAPEM()...), pemOf(s.fcm)...)
	if err := os.WriteFile(ca, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	p8 := filepath.Join(dir, "AuthKey.p8")
	if err := os.WriteFile(p8, s.apns.P8(), 0o600); err != nil {
		t.Fatal(err)
	}
	return func(c *config.Config) {
		c.PushCA = ca
		c.EgressAllow = []string{"127.0.0.1"}
		c.VAPIDSubject = "mailto:ops@acme.example"
		c.FCMCredentials = string(s.fcm.Credentials())
		c.FCMAPIBase = s.fcm.Server.URL
		c.APNsKey, c.APNsKeyID, c.APNsTeamID, c.APNsTopic, c.APNsAPIBase = p8, s.apns.KeyID, s.apns.TeamID, s.apns.Topic, s.apns.Server.URL
	}
}

func pemOf(f *pushtest.FCMService) []byte {
	var b bytes.Buffer
	b.WriteString("-----BEGIN CERTIFICATE-----\n")
	b.WriteString(wrap64(f.Server.Certificate().Raw))
	b.WriteString("-----END CERTIFICATE-----\n")
	return b.Bytes()
}

// pushEnv is a running joist with the stub contact auth, a tenant and
// its contact.
type pushEnv struct {
	env *apptest.Env
	chk http.RoundTripper
}

func startPush(t *testing.T, env *apptest.Env) *pushEnv {
	env.App.Push.SetContactAuth(stubContactAuth{})
	return &pushEnv{env: env, chk: openapicheck.New(t, apptest.OpenAPI(t)).Transport(nil)}
}

// tenantWithContact makes a tenant and a contact in it; it answers the
// tenant and the contact's joist id.
func (p *pushEnv) tenantWithContact(t *testing.T, slug, external string) (store.Tenant, string) {
	t.Helper()
	ctx := context.Background()
	tn, err := p.env.App.Tenants.Create(ctx, pushRoot, tenants.Input{Slug: slug})
	if err != nil {
		t.Fatal(err)
	}
	if r := p.do(t, "PUT", "/v1/contacts/"+external, `{"email":"`+external+`@example.com"}`, "Authorization", "Bearer "+p.env.RootKey, "Joist-Tenant", slug); r.status != http.StatusCreated {
		t.Fatalf("contact: %d %s", r.status, r.body)
	}
	c, err := p.env.App.Core.ContactGet(ctx, pushRoot, tn.ID, external)
	if err != nil {
		t.Fatal(err)
	}
	return tn, c.ID
}

type pushResp struct {
	status int
	body   []byte
}

func (r pushResp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// problem is a problem+json answer's code and field.
func (r pushResp) problem(t *testing.T) (code, field string) {
	var p struct{ Code, Field string }
	r.json(t, &p)
	return p.Code, p.Field
}

// do sends a request validated against /openapi.json; hdr are header
// name, value pairs.
func (p *pushEnv) do(t *testing.T, method, path, body string, hdr ...string) pushResp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, p.env.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := (&http.Client{Transport: p.chk, Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return pushResp{status: resp.StatusCode, body: b}
}

// root sends as the root key to tenant slug.
func (p *pushEnv) root(t *testing.T, slug, method, path, body string) pushResp {
	t.Helper()
	return p.do(t, method, path, body, "Authorization", "Bearer "+p.env.RootKey, "Joist-Tenant", slug)
}

// as sends with tenantID's contactID's (stub) contact token.
func (p *pushEnv) as(t *testing.T, tenantID, contactID, method, path, body string) pushResp {
	t.Helper()
	return p.do(t, method, path, body, "Authorization", "Bearer ctok:"+tenantID+":"+contactID)
}

// subscriptionJSON is what a browser posts for sub.
func subscriptionJSON(sub *pushtest.WebSubscriber) string {
	return `{"endpoint":"` + sub.Endpoint + `","expirationTime":null,"keys":{"p256dh":"` + sub.P256dh() + `","auth":"` + sub.AuthSecret() + `"}}`
}

// wrap64 is base64 in 64-character lines, as PEM holds it.
func wrap64(der []byte) string {
	s := base64.StdEncoding.EncodeToString(der)
	var b strings.Builder
	for len(s) > 64 {
		b.WriteString(s[:64] + "\n")
		s = s[64:]
	}
	b.WriteString(s + "\n")
	return b.String()
}
