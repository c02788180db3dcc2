package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"
)

// Options tune the guard's network side.
type Options struct {
	// Resolver looks host names up (nil: the system's). Tests point it at
	// a DNS server of their own.
	Resolver *net.Resolver
	// DialTimeout bounds one connection attempt (default 10s).
	DialTimeout time.Duration
}

// Guard checks destinations and makes the connections to them. It is safe
// for concurrent use; each class has its own connection pool, so a
// connection made under one class's rules never serves another.
type Guard struct {
	policy     Policy
	allow      allowList
	opts       Options
	transports map[Class]*http.Transport
}

// New builds a guard for policy p. It fails on an Allow entry that is
// neither a host, an address nor a CIDR.
func New(p Policy, o Options) (*Guard, error) {
	allow, err := ParseAllow(p.Allow)
	if err != nil {
		return nil, fmt.Errorf("JOIST_EGRESS_ALLOW: %w", err)
	}
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = 10 * time.Second
	}
	g := &Guard{policy: p, allow: allow, opts: o, transports: map[Class]*http.Transport{}}
	for _, c := range []Class{Operator, App, Customer} {
		g.transports[c] = &http.Transport{
			// No proxy: the guard checks the address it connects to, which
			// behind a proxy would be the proxy's.
			Proxy:               nil,
			DialContext:         g.DialContext(c),
			ForceAttemptHTTP2:   true,
			MaxIdleConns:        512,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 10 * time.Second,
		}
	}
	return g, nil
}

// Default is a guard with no operator policy (every class's defaults).
func Default() *Guard {
	g, _ := New(Policy{}, Options{})
	return g
}

// CheckURL checks a destination when it is saved: an absolute http(s) URL
// whose host the class may name, and, when the host is an address, an
// address the class may reach. A host name's addresses are checked when it
// is dialled. A refusal is a *RefusedError.
func (g *Guard) CheckURL(c Class, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http:// or https:// URL", raw)
	}
	return g.checkURL(c, u)
}

func (g *Guard) checkURL(c Class, u *url.URL) error {
	host := u.Hostname()
	if u.Scheme != "http" && u.Scheme != "https" {
		return &RefusedError{Class: c, Host: host, Scheme: true, Reason: fmt.Sprintf("scheme %q is not http or https", u.Scheme)}
	}
	if err := g.checkHost(c, host); err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if c == Customer && u.Scheme != "https" && !g.allow.named(host, ip) {
		return &RefusedError{Class: c, Host: host, Scheme: true, Reason: "destinations a tenant's customers supply must use https"}
	}
	if err == nil {
		return g.checkIP(c, host, ip)
	}
	return nil
}

// DialContext is the guarded dialer of class c: it checks the host, looks
// it up, checks every address, and connects only to an address it checked
// (so a DNS answer cannot change between the check and the connection);
// the socket's own address is checked once more just before connecting.
func (g *Guard) DialContext(c Class) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, portStr, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		port, err := strconv.ParseUint(portStr, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("dial %s: invalid port %q", addr, portStr)
		}
		if err := g.checkHost(c, host); err != nil {
			return nil, err
		}
		ips, err := g.lookup(ctx, network, host)
		if err != nil {
			return nil, err
		}
		var refused error
		var allowed []netip.Addr
		for _, ip := range ips {
			if err := g.checkIP(c, host, ip); err != nil {
				refused = cmpFirst(refused, err)
				continue
			}
			allowed = append(allowed, ip)
		}
		if len(allowed) == 0 {
			return nil, refused
		}
		d := &net.Dialer{Timeout: g.opts.DialTimeout, KeepAlive: 30 * time.Second,
			Control: func(_, address string, _ syscall.RawConn) error {
				ap, err := netip.ParseAddrPort(address)
				if err != nil {
					return fmt.Errorf("egress: unexpected socket address %q", address)
				}
				return g.checkIP(c, host, ap.Addr())
			}}
		var lastErr error
		for _, ip := range allowed {
			conn, err := d.DialContext(ctx, network, netip.AddrPortFrom(ip, uint16(port)).String())
			if err == nil {
				return conn, nil
			}
			lastErr = err
			if ctx.Err() != nil {
				break
			}
		}
		return nil, lastErr
	}
}

func cmpFirst(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// lookup resolves host (an address stands for itself).
func (g *Guard) lookup(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	want := "ip"
	switch network {
	case "tcp4", "udp4":
		want = "ip4"
	case "tcp6", "udp6":
		want = "ip6"
	}
	ips, err := g.opts.Resolver.LookupNetIP(ctx, want, host)
	if err != nil {
		return nil, err
	}
	if len(ips) == 0 {
		return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	return ips, nil
}

// MaxRedirects is how many redirects a guarded client follows.
const MaxRedirects = 5

// Client is an HTTP client for destinations of class c: every request it
// sends, the first and each redirect, is checked like CheckURL, and its
// connections come from DialContext(c). Clients of one class share one
// connection pool; the caller may set Timeout on the client it gets.
func (g *Guard) Client(c Class) *http.Client {
	return &http.Client{Transport: g.RoundTripper(c), CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= MaxRedirects {
			return fmt.Errorf("stopped after %d redirects", MaxRedirects)
		}
		if err := g.checkURL(c, req.URL); err != nil {
			return fmt.Errorf("redirect to %s: %w", req.URL.Redacted(), err)
		}
		return nil
	}}
}

// Refused returns the refusal in err's chain, if the guard refused.
func Refused(err error) (*RefusedError, bool) {
	var r *RefusedError
	ok := errors.As(err, &r)
	return r, ok
}

// RoundTripper is the transport of Client(c), for libraries that take one.
func (g *Guard) RoundTripper(c Class) http.RoundTripper {
	return checkedTransport{g: g, c: c, base: g.transports[c]}
}

// checkedTransport checks each request's URL before it is sent.
type checkedTransport struct {
	g    *Guard
	c    Class
	base *http.Transport
}

func (t checkedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.g.checkURL(t.c, req.URL); err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	return t.base.RoundTrip(req)
}
