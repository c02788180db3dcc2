package admin_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
)

// cli is the actor test fixtures are created with, as the bootstrap
// commands would.
var cli = auth.Actor{Type: auth.ActorCLI, ID: "cli", AllTenants: true, Role: auth.RoleOwner}

const testPassword = "a long enough password 42"

// client is a browser without JavaScript: a cookie jar, and redirects
// reported rather than followed.
type client struct {
	t    *testing.T
	env  *apptest.Env
	base string // URL of the server under test
	c    *http.Client
}

type response struct {
	Status   int
	Body     string
	Header   http.Header
	Location string
}

func newClient(t *testing.T, env *apptest.Env) *client {
	t.Helper()
	return newClientAt(t, env, env.URL)
}

// newClientAt is a client of another server sharing env's database.
func newClientAt(t *testing.T, env *apptest.Env, base string) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, env: env, base: base, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) do(req *http.Request) response {
	c.t.Helper()
	res, err := c.c.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return response{Status: res.StatusCode, Body: string(b), Header: res.Header, Location: res.Header.Get("Location")}
}

func (c *client) get(path string) response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req)
}

// post sends a form; header adds or overrides request headers.
func (c *client) post(path string, form url.Values, header ...string) response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return c.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the CSRF token of the forms on the page at path.
func (c *client) csrf(path string) string {
	c.t.Helper()
	r := c.get(path)
	m := csrfRE.FindStringSubmatch(r.Body)
	if r.Status != http.StatusOK || m == nil {
		c.t.Fatalf("GET %s: status %d, no csrf field in:\n%s", path, r.Status, r.Body)
	}
	return m[1]
}

// tryLogin fills in the login form.
func (c *client) tryLogin(email, password string) response {
	c.t.Helper()
	return c.post("/admin/login", url.Values{"csrf": {c.csrf("/admin/login")}, "email": {email}, "password": {password}})
}

// login logs in and fails the test unless it works.
func (c *client) login(email, password string) {
	c.t.Helper()
	r := c.tryLogin(email, password)
	if r.Status != http.StatusSeeOther || r.Location != "/admin/" {
		c.t.Fatalf("login as %s: status %d, location %q\n%s", email, r.Status, r.Location, r.Body)
	}
}

// loginOwner logs in as the owner apptest bootstrapped.
func (c *client) loginOwner() { c.t.Helper(); c.login(c.env.OwnerEmail, c.env.OwnerPassword) }

// want fails the test unless r has status and its body holds every
// fragment.
func want(t *testing.T, what string, r response, status int, fragments ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status %d, want %d (location %q)\n%s", what, r.Status, status, r.Location, r.Body)
	}
	for _, f := range fragments {
		if !strings.Contains(r.Body, f) {
			t.Fatalf("%s: body lacks %q:\n%s", what, f, r.Body)
		}
	}
}

func mkTenant(t *testing.T, env *apptest.Env, slug string) store.Tenant {
	t.Helper()
	tn, err := env.App.Core.TenantCreate(context.Background(), cli, core.TenantInput{Slug: slug, Name: strings.ToUpper(slug[:1]) + slug[1:]})
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

func mkContact(t *testing.T, env *apptest.Env, tenantID, externalID, email, name string) store.Contact {
	t.Helper()
	c, _, err := env.App.Core.ContactUpsert(context.Background(), cli, tenantID, externalID,
		core.ContactInput{Email: &email, Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mkOperator creates an operator with testPassword; no tenants means all.
func mkOperator(t *testing.T, env *apptest.Env, email string, role auth.Role, tenantIDs ...string) store.Operator {
	t.Helper()
	o, err := env.App.Core.OperatorCreate(context.Background(), cli, core.OperatorInput{Email: email, Role: string(role),
		AllTenants: len(tenantIDs) == 0, TenantIDs: tenantIDs}, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// regexpFind returns the first group of pattern in s, or fails the test.
func regexpFind(t *testing.T, pattern, s string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %s in:\n%s", pattern, s)
	}
	return m[1]
}

func storePage() store.Page { return store.Page{Limit: 100} }
