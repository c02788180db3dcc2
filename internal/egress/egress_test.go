package egress_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/egress"
	"github.com/joist-dev/joist/internal/egress/egresstest"
)

// target is a real server on 127.0.0.1 that counts what reaches it.
type target struct {
	srv  *httptest.Server
	hits atomic.Int32
}

func newTarget(t *testing.T, h http.HandlerFunc) *target {
	tg := &target{}
	tg.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.hits.Add(1)
		if h != nil {
			h(w, r)
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(tg.srv.Close)
	return tg
}

func (tg *target) port() string { return strings.TrimPrefix(tg.srv.URL, "http://127.0.0.1:") }

func get(c *http.Client, u string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

func guard(t *testing.T, p egress.Policy, dns *egresstest.DNS) *egress.Guard {
	t.Helper()
	o := egress.Options{DialTimeout: 500 * time.Millisecond}
	if dns != nil {
		o.Resolver = dns.Resolver()
	}
	g, err := egress.New(p, o)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestAddressRanges: every class refuses link-local, metadata, unspecified
// and their IPv4-mapped (and NAT64, IPv4-compatible) forms unless named;
// loopback and private follow the class.
func TestAddressRanges(t *testing.T) {
	t.Parallel()
	special := []string{"169.254.169.254", "169.254.0.1", "100.100.100.200", "0.0.0.0", "0.1.2.3", "::", "fe80::1", "fd00:ec2::254",
		"::ffff:169.254.169.254", "::ffff:0.0.0.0", "::ffff:100.100.100.200", "64:ff9b::a9fe:a9fe", "::a9fe:a9fe", "224.0.0.1", "ff02::1"}
	private := []string{"127.0.0.1", "127.8.9.10", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "fd12:3456::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1"}
	public := []string{"8.8.8.8", "203.0.113.7", "2001:4860:4860::8888", "::ffff:8.8.8.8", "100.128.0.1"}
	plain := guard(t, egress.Policy{}, nil)
	denyPrivate := guard(t, egress.Policy{DenyPrivate: true}, nil)
	named := guard(t, egress.Policy{Allow: []string{"169.254.0.0/16", "fd00:ec2::254", "100.100.100.200", "127.0.0.1", "10.0.0.0/8"}}, nil)
	check := func(g *egress.Guard, c egress.Class, ip string) error {
		a := netip.MustParseAddr(ip)
		host := a.String()
		if a.Is6() {
			host = "[" + host + "]"
		}
		return g.CheckURL(c, "https://"+host+"/x")
	}
	for _, ip := range special {
		for _, c := range []egress.Class{egress.Operator, egress.App, egress.Customer} {
			err := check(plain, c, ip)
			if _, ok := egress.Refused(err); !ok || !strings.Contains(err.Error(), "JOIST_EGRESS_ALLOW") {
				t.Errorf("%s as %s destination: %v, want a refusal naming JOIST_EGRESS_ALLOW", ip, c, err)
			}
		}
	}
	for _, ip := range []string{"169.254.169.254", "::ffff:169.254.169.254", "fd00:ec2::254", "100.100.100.200"} {
		if err := check(named, egress.App, ip); err != nil {
			t.Errorf("%s named in JOIST_EGRESS_ALLOW: %v", ip, err)
		}
	}
	for _, ip := range private {
		if err := check(plain, egress.Operator, ip); err != nil {
			t.Errorf("%s as operator destination: %v", ip, err)
		}
		if err := check(plain, egress.App, ip); err != nil {
			t.Errorf("%s as app destination: %v", ip, err)
		}
		if err := check(denyPrivate, egress.App, ip); err == nil || !strings.Contains(err.Error(), "JOIST_EGRESS_DENY_PRIVATE") {
			t.Errorf("%s as app destination with JOIST_EGRESS_DENY_PRIVATE: %v", ip, err)
		}
		if err := check(plain, egress.Customer, ip); err == nil {
			t.Errorf("%s as customer destination: allowed", ip)
		}
	}
	for _, ip := range []string{"127.0.0.1", "10.9.9.9", "::ffff:10.9.9.9"} {
		if err := check(named, egress.Customer, ip); err != nil {
			t.Errorf("%s named, as customer destination: %v", ip, err)
		}
	}
	for _, ip := range public {
		for _, c := range []egress.Class{egress.Operator, egress.App, egress.Customer} {
			if err := check(denyPrivate, c, ip); err != nil {
				t.Errorf("%s as %s destination: %v", ip, c, err)
			}
		}
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	g := guard(t, egress.Policy{AppHosts: []string{"app.internal", "127.0.0.1"}, Allow: []string{"hooks.test"}}, nil)
	cases := []struct {
		class egress.Class
		url   string
		want  string // "" allowed, else a fragment of the refusal
	}{
		{egress.App, "http://app.internal:3000/x", ""},
		{egress.App, "http://APP.internal./x", ""},
		{egress.App, "http://127.0.0.1:3000/x", ""},
		{egress.App, "http://elsewhere.example/x", `host "elsewhere.example" is not in JOIST_PUSH_ALLOWED_HOSTS (app.internal, 127.0.0.1)`},
		{egress.Operator, "https://api.stripe.com/v1", ""},
		{egress.Customer, "http://example.com/feed", "must use https"},
		{egress.Customer, "https://example.com/feed", ""},
		{egress.Customer, "http://hooks.test/x", ""},
		{egress.App, "ftp://app.internal/x", "not an absolute http"},
		{egress.App, "/relative", "not an absolute http"},
	}
	for _, c := range cases {
		err := g.CheckURL(c.class, c.url)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s %s: %v", c.class, c.url, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s %s: %v, want %q", c.class, c.url, err, c.want)
		}
	}
	if _, err := egress.New(egress.Policy{Allow: []string{"http://x/"}}, egress.Options{}); err == nil || !strings.Contains(err.Error(), "JOIST_EGRESS_ALLOW") {
		t.Errorf("a URL in JOIST_EGRESS_ALLOW: %v", err)
	}
}

// TestDialChecksResolvedAddress: a name is checked on what it resolves to
// when it is dialled, with the class's rules; a refusal never reaches the
// server and says how to allow it.
func TestDialChecksResolvedAddress(t *testing.T) {
	t.Parallel()
	dns := egresstest.StartDNS(t, func(name string, _ int) []netip.Addr {
		switch name {
		case "app.test", "customer.test":
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}
		case "metadata.test":
			return []netip.Addr{netip.MustParseAddr("169.254.169.254")}
		}
		return nil
	})
	tg := newTarget(t, nil)
	u := func(host string) string { return "http://" + host + ":" + tg.port() + "/" }
	plain := guard(t, egress.Policy{}, dns)
	if err := get(plain.Client(egress.App), u("app.test")); err != nil {
		t.Fatalf("app destination on loopback: %v", err)
	}
	// Customer destinations are https, unless named.
	if err := get(plain.Client(egress.Customer), "http://example.com/"); err == nil || !strings.Contains(err.Error(), "must use https") {
		t.Fatalf("customer destination over http: %v", err)
	}
	if err := get(plain.Client(egress.Operator), u("app.test")); err != nil {
		t.Fatalf("operator destination on loopback: %v", err)
	}
	before := tg.hits.Load()
	err := get(plain.Client(egress.Customer), "https://customer.test:"+tg.port()+"/")
	if r, ok := egress.Refused(err); !ok || r.IP != netip.MustParseAddr("127.0.0.1") || !strings.Contains(err.Error(), `"customer.test" (resolved to 127.0.0.1)`) {
		t.Fatalf("customer destination resolving to loopback: %v", err)
	}
	err = get(guard(t, egress.Policy{DenyPrivate: true}, dns).Client(egress.App), u("app.test"))
	if _, ok := egress.Refused(err); !ok || !strings.Contains(err.Error(), "JOIST_EGRESS_DENY_PRIVATE") {
		t.Fatalf("app destination on loopback with JOIST_EGRESS_DENY_PRIVATE: %v", err)
	}
	err = get(plain.Client(egress.App), "http://metadata.test/latest/meta-data/")
	if _, ok := egress.Refused(err); !ok || !strings.Contains(err.Error(), "JOIST_EGRESS_ALLOW=169.254.169.254") {
		t.Fatalf("a name resolving to the metadata address: %v", err)
	}
	if tg.hits.Load() != before {
		t.Fatal("a refused request reached the server")
	}
	// Named, the customer destination is allowed (how tests stand in for one).
	if err := get(guard(t, egress.Policy{Allow: []string{"customer.test"}}, dns).Client(egress.Customer), u("customer.test")); err != nil {
		t.Fatalf("customer destination named in JOIST_EGRESS_ALLOW: %v", err)
	}
	if err := get(guard(t, egress.Policy{Allow: []string{"127.0.0.0/8"}}, dns).Client(egress.Customer), tg.srv.URL); err != nil {
		t.Fatalf("customer destination in a CIDR of JOIST_EGRESS_ALLOW: %v", err)
	}
	// JOIST_PUSH_ALLOWED_HOSTS is enforced at dial time too (the name, not
	// only the URL checked at save time).
	dial := guard(t, egress.Policy{AppHosts: []string{"other.test"}}, dns).DialContext(egress.App)
	if _, err := dial(context.Background(), "tcp", "app.test:"+tg.port()); err == nil || !strings.Contains(err.Error(), "JOIST_PUSH_ALLOWED_HOSTS") {
		t.Fatalf("dial to a host outside JOIST_PUSH_ALLOWED_HOSTS: %v", err)
	}
}

// TestDNSRebinding: the name answers a public address first and loopback
// next. The guard checks the address it dials and dials the address it
// checked, so the second answer never reaches the loopback server, and a
// later connection that gets it is refused.
func TestDNSRebinding(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, nil)
	dns := egresstest.StartDNS(t, func(name string, n int) []netip.Addr {
		if name != "rebind.test" {
			return nil
		}
		if n == 0 {
			return []netip.Addr{netip.MustParseAddr("203.0.113.7")} // TEST-NET-3: public, and unreachable
		}
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	})
	c := guard(t, egress.Policy{}, dns).Client(egress.Customer)
	u := "https://rebind.test:" + tg.port() + "/"
	err := get(c, u)
	if err == nil {
		t.Fatal("the first request (public address, nothing listening) succeeded")
	}
	if _, refused := egress.Refused(err); refused {
		t.Fatalf("the first answer is public, yet refused: %v", err)
	}
	if n := dns.Queries("rebind.test"); n != 1 {
		t.Fatalf("%d lookups for one connection: the address dialled is not the address checked", n)
	}
	if tg.hits.Load() != 0 {
		t.Fatal("the loopback server was reached through a name checked as public")
	}
	err = get(c, u)
	if r, ok := egress.Refused(err); !ok || r.IP.String() != "127.0.0.1" {
		t.Fatalf("the second connection (loopback answer): %v, want a refusal", err)
	}
	if tg.hits.Load() != 0 {
		t.Fatal("the loopback server was reached")
	}
}

// TestRedirectsAreChecked: a redirect to a refused address is refused
// (before any connection to it), and one to a name is dialled through the
// guard.
func TestRedirectsAreChecked(t *testing.T) {
	t.Parallel()
	dns := egresstest.StartDNS(t, func(name string, _ int) []netip.Addr {
		if name == "inside.test" || name == "redir.test" {
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}
		}
		return nil
	})
	inside := newTarget(t, nil)
	to := ""
	redir := newTarget(t, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, to, http.StatusFound) })
	g := guard(t, egress.Policy{Allow: []string{"redir.test"}}, dns)
	start := "http://redir.test:" + redir.port() + "/"
	to = "http://169.254.169.254/latest/meta-data/iam"
	err := get(g.Client(egress.App), start)
	if _, ok := egress.Refused(err); !ok || !strings.Contains(err.Error(), "redirect to http://169.254.169.254/latest/meta-data/iam") {
		t.Fatalf("redirect to the metadata address: %v", err)
	}
	to = "http://[::ffff:a9fe:a9fe]/"
	if _, ok := egress.Refused(get(g.Client(egress.App), start)); !ok {
		t.Fatal("redirect to the IPv4-mapped metadata address was not refused")
	}
	// The customer's redirector is named, so reached over http on
	// loopback; a name it redirects to is not.
	to = "http://inside.test:" + inside.port() + "/"
	if err := get(g.Client(egress.App), start); err != nil {
		t.Fatalf("app redirect to a loopback name: %v", err)
	}
	to = "https://inside.test:" + inside.port() + "/"
	if r, ok := egress.Refused(get(g.Client(egress.Customer), start)); !ok || r.IP.String() != "127.0.0.1" {
		t.Fatal("customer redirect to a name resolving to loopback was not refused at dial time")
	}
	if inside.hits.Load() != 1 {
		t.Fatalf("inside reached %d times, want once (the app's redirect)", inside.hits.Load())
	}
	// Too many redirects stop.
	to = start
	if err := get(g.Client(egress.App), start); err == nil || !strings.Contains(err.Error(), "stopped after 5 redirects") {
		t.Fatalf("redirect loop: %v", err)
	}
}
