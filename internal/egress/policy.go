package egress

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Class says who chose a destination, and so which addresses it may reach.
type Class int

const (
	// Operator destinations are set in configuration (provider base URLs,
	// the SMTP relay, the Stripe API base).
	Operator Class = iota + 1
	// App destinations are set through the API with a key the app holds
	// (HTTP-push jobs, schedules, webhook forward URLs).
	App
	// Customer destinations are supplied by a tenant's own customers
	// (web-push endpoints, outbound webhook endpoints, calendar feeds).
	Customer
)

func (c Class) String() string {
	switch c {
	case Operator:
		return "operator"
	case App:
		return "app"
	case Customer:
		return "customer"
	}
	return fmt.Sprintf("egress.Class(%d)", int(c))
}

// Policy is what an operator configures.
type Policy struct {
	// Allow names hosts, addresses and CIDRs allowed for every class,
	// whatever range they are in (JOIST_EGRESS_ALLOW).
	Allow []string
	// DenyPrivate refuses loopback and private addresses to app
	// destinations too (JOIST_EGRESS_DENY_PRIVATE).
	DenyPrivate bool
	// AppHosts, when set, are the only hosts app destinations may name
	// (JOIST_PUSH_ALLOWED_HOSTS).
	AppHosts []string
}

// allowList is Policy.Allow parsed.
type allowList struct {
	hosts    []string
	prefixes []netip.Prefix
}

// ParseAllow parses JOIST_EGRESS_ALLOW entries: a host name
// (metadata.internal), an address (169.254.169.254, fd00:ec2::254) or a
// CIDR (10.0.0.0/8).
func ParseAllow(entries []string) (allowList, error) {
	var l allowList
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if p, err := netip.ParsePrefix(e); err == nil {
			l.prefixes = append(l.prefixes, p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(strings.Trim(e, "[]")); err == nil {
			a = a.Unmap()
			l.prefixes = append(l.prefixes, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		h := normalHost(e)
		if h == "" || strings.ContainsAny(h, "/:@ *") {
			return l, fmt.Errorf("%q is not a host, an address or a CIDR such as 10.0.0.0/8", e)
		}
		l.hosts = append(l.hosts, h)
	}
	return l, nil
}

func normalHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
}

// named reports whether host or ip is in the allow list (ip may be invalid:
// host only).
func (l allowList) named(host string, ip netip.Addr) bool {
	if host != "" && slices.Contains(l.hosts, normalHost(host)) {
		return true
	}
	if !ip.IsValid() {
		return false
	}
	ip = ip.WithZone("")
	for _, p := range l.prefixes {
		if p.Contains(ip) || p.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}

// rangeKind is what kind of address an IP is, for the class rules.
type rangeKind int

const (
	public rangeKind = iota
	// private: loopback and private networks (RFC 1918, CGNAT, ULA).
	private
	// special: link-local, cloud metadata, unspecified (0.0.0.0/8, ::),
	// broadcast and multicast: never a destination unless named.
	special
)

var (
	specialPrefixes = mustPrefixes("0.0.0.0/8", "169.254.0.0/16", "100.100.100.200/32", "255.255.255.255/32", "224.0.0.0/4",
		"::/128", "fe80::/10", "fd00:ec2::254/128", "ff00::/8")
	privatePrefixes = mustPrefixes("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
		"::1/128", "fc00::/7", "fec0::/10")
	// Prefixes whose addresses embed an IPv4 address in their last 32 bits:
	// IPv4-compatible (deprecated) and the NAT64 well-known prefix.
	embeddingPrefixes = mustPrefixes("::/96", "64:ff9b::/96")
)

func mustPrefixes(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(s))
	for i, p := range s {
		out[i] = netip.MustParsePrefix(p)
	}
	return out
}

// classify says which range ip is in, looking through the IPv6 forms that
// carry an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64).
func classify(ip netip.Addr) rangeKind {
	ip = ip.WithZone("").Unmap()
	if ip.Is6() && ip != netip.IPv6Unspecified() && ip != netip.IPv6Loopback() {
		for _, p := range embeddingPrefixes {
			if p.Contains(ip) {
				b := ip.As16()
				return classify(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
			}
		}
	}
	for _, p := range specialPrefixes {
		if p.Contains(ip) {
			return special
		}
	}
	for _, p := range privatePrefixes {
		if p.Contains(ip) {
			return private
		}
	}
	return public
}

// checkIP applies the class rules to one address of host.
func (g *Guard) checkIP(c Class, host string, ip netip.Addr) error {
	if g.allow.named(host, ip) {
		return nil
	}
	refuse := func(why string) error {
		return &RefusedError{Class: c, Host: host, IP: ip, Reason: why}
	}
	switch classify(ip) {
	case special:
		return refuse("a link-local, cloud metadata, unspecified or multicast address")
	case private:
		switch {
		case c == Customer:
			return refuse("a loopback or private address, refused for destinations a tenant's customers supply")
		case c == App && g.policy.DenyPrivate:
			return refuse("a loopback or private address, refused by JOIST_EGRESS_DENY_PRIVATE")
		}
	}
	return nil
}

// checkHost applies the rules that need only the host's name: an app
// destination must be among JOIST_PUSH_ALLOWED_HOSTS when it is set.
func (g *Guard) checkHost(c Class, host string) error {
	if c != App || len(g.policy.AppHosts) == 0 {
		return nil
	}
	for _, h := range g.policy.AppHosts {
		if normalHost(h) == normalHost(host) {
			return nil
		}
	}
	return &RefusedError{Class: c, Host: host, NotListed: true,
		Reason: fmt.Sprintf("not in JOIST_PUSH_ALLOWED_HOSTS (%s)", strings.Join(g.policy.AppHosts, ", "))}
}

// RefusedError is a destination the guard refused. Its message says what
// was refused and how an operator allows it.
type RefusedError struct {
	Class Class
	// Host is the destination's host as named (a name or an address).
	Host string
	// IP is the refused address (invalid when the name itself was refused).
	IP netip.Addr
	// NotListed: the host is not among JOIST_PUSH_ALLOWED_HOSTS.
	NotListed bool
	// Scheme: the URL's scheme is refused (customer destinations are https).
	Scheme bool
	Reason string
}

func (e *RefusedError) Error() string {
	switch {
	case e.NotListed:
		return fmt.Sprintf("host %q is %s", e.Host, e.Reason)
	case e.Scheme:
		return fmt.Sprintf("destination %q refused: %s; an operator may allow the host with JOIST_EGRESS_ALLOW", e.Host, e.Reason)
	}
	what := fmt.Sprintf("%q", e.Host)
	if e.IP.IsValid() && e.IP.String() != strings.Trim(e.Host, "[]") {
		what += fmt.Sprintf(" (resolved to %s)", e.IP)
	}
	return fmt.Sprintf("destination %s refused for %s destinations: %s; an operator may allow it with JOIST_EGRESS_ALLOW=%s",
		what, e.Class, e.Reason, allowHint(e))
}

func allowHint(e *RefusedError) string {
	if e.IP.IsValid() {
		return e.IP.String()
	}
	return e.Host
}
