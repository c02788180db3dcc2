package admintest

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/apptest"
)

// Client is a browser without JavaScript: a cookie jar, and redirects
// reported rather than followed.
type Client struct {
	t    *testing.T
	env  *apptest.Env
	base string // URL of the server under test
	c    *http.Client
}

// Response is what a Client got back: status, body, headers, and the
// Location of a redirect.
type Response struct {
	Status   int
	Body     string
	Header   http.Header
	Location string
}

// NewClient is a client of env's server, logged in as nobody.
func NewClient(t *testing.T, env *apptest.Env) *Client {
	t.Helper()
	return NewClientAt(t, env, env.URL)
}

// NewClientAt is a client of another server sharing env's database.
func NewClientAt(t *testing.T, env *apptest.Env, base string) *Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Client{t: t, env: env, base: base, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Jar is the client's cookie jar, to read or replace its session cookie.
func (c *Client) Jar() http.CookieJar { return c.c.Jar }

func (c *Client) do(req *http.Request) Response {
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
	return Response{Status: res.StatusCode, Body: string(b), Header: res.Header, Location: res.Header.Get("Location")}
}

// Get fetches path (from the server's root, e.g. "/admin/tenants").
func (c *Client) Get(path string) Response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req)
}

// Post sends a form; header adds or overrides request headers, as pairs
// of name and value.
func (c *Client) Post(path string, form url.Values, header ...string) Response {
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

// CSRF returns the CSRF token of the forms on the page at path.
func (c *Client) CSRF(path string) string {
	c.t.Helper()
	r := c.Get(path)
	m := csrfRE.FindStringSubmatch(r.Body)
	if r.Status != http.StatusOK || m == nil {
		c.t.Fatalf("GET %s: status %d, no csrf field in:\n%s", path, r.Status, r.Body)
	}
	return m[1]
}

// TryLogin fills in the login form.
func (c *Client) TryLogin(email, password string) Response {
	c.t.Helper()
	return c.Post("/admin/login", url.Values{"csrf": {c.CSRF("/admin/login")}, "email": {email}, "password": {password}})
}

// Login logs in and fails the test unless it works.
func (c *Client) Login(email, password string) {
	c.t.Helper()
	r := c.TryLogin(email, password)
	if r.Status != http.StatusSeeOther || r.Location != "/admin/" {
		c.t.Fatalf("login as %s: status %d, location %q\n%s", email, r.Status, r.Location, r.Body)
	}
}

// LoginOwner logs in as the owner apptest bootstrapped.
func (c *Client) LoginOwner() { c.t.Helper(); c.Login(c.env.OwnerEmail, c.env.OwnerPassword) }

// Want fails the test unless r has status and its body holds every
// fragment.
func Want(t *testing.T, what string, r Response, status int, fragments ...string) {
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

// RegexpFind returns the first group of pattern in s, or fails the test.
func RegexpFind(t *testing.T, pattern, s string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %s in:\n%s", pattern, s)
	}
	return m[1]
}
