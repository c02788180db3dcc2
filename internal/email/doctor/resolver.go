package doctor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Resolver answers one DNS question. A recursive resolver is expected (it
// follows CNAMEs and answers for any name). An error means no answer
// came (a timeout, a refused connection); an answer with an error rcode
// (NXDOMAIN, SERVFAIL) is returned as a message, not as an error.
type Resolver interface {
	Exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, error)
}

// Server is a Resolver that asks one DNS server (host:port) over UDP,
// and over TCP when the answer is truncated.
type Server struct {
	Addr    string
	Timeout time.Duration // per attempt; 3s when zero
}

// NewResolver returns a Resolver asking addr (host:port; a bare host gets
// port 53), or the first nameserver of /etc/resolv.conf when addr is empty.
func NewResolver(addr string) (Resolver, error) {
	if addr == "" {
		cfg, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil {
			return nil, fmt.Errorf("no DNS server given and /etc/resolv.conf unreadable: %w (name one with --dns HOST:PORT or JOIST_DNS_SERVER)", err)
		}
		if len(cfg.Servers) == 0 {
			return nil, errors.New("no DNS server given and /etc/resolv.conf names none (name one with --dns HOST:PORT or JOIST_DNS_SERVER)")
		}
		addr = net.JoinHostPort(cfg.Servers[0], cfg.Port)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		if strings.Contains(err.Error(), "missing port") {
			addr = net.JoinHostPort(strings.Trim(addr, "[]"), "53")
		} else {
			return nil, fmt.Errorf("DNS server %q: want HOST:PORT", addr)
		}
	}
	return &Server{Addr: addr}, nil
}

// Exchange asks the server one question, recursion desired.
func (s *Server) Exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 3 * time.Second
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	m.SetEdns0(4096, false)
	c := &dns.Client{Net: "udp", Timeout: timeout}
	r, _, err := c.ExchangeContext(ctx, m, s.Addr)
	if err == nil && r.Truncated {
		c.Net = "tcp"
		r, _, err = c.ExchangeContext(ctx, m, s.Addr)
	}
	if err != nil {
		return nil, fmt.Errorf("DNS server %s: %w", s.Addr, err)
	}
	return r, nil
}

// answer is what one lookup found.
type answer struct {
	rrs       []dns.RR // the answer section, CNAMEs included
	exists    bool     // false: NXDOMAIN
	err       error    // no usable answer (timeout, SERVFAIL, REFUSED)
	transport bool     // err is the server not answering at all
}

// void says whether the lookup was void in RFC 7208's sense (4.6.4): the
// name does not exist, or has no record of the type asked.
func (a answer) void(qtype uint16) bool {
	return a.err == nil && len(ofType(a.rrs, qtype)) == 0
}

// lookups asks a Resolver and remembers the answers for one Check, so a
// name queried by two checks is asked once. After the resolver fails to
// answer at all (a timeout, a refused connection), later lookups fail at
// once with the same error instead of waiting again.
type lookups struct {
	r        Resolver
	cache    map[string]answer
	dead     error
	first    error // the first lookup that got no usable answer
	answered int   // lookups the server answered (whatever the rcode)
}

func newLookups(r Resolver) *lookups {
	return &lookups{r: r, cache: map[string]answer{}}
}

func (l *lookups) get(ctx context.Context, name string, qtype uint16) answer {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	key := name + "/" + dns.TypeToString[qtype]
	if a, ok := l.cache[key]; ok {
		return a
	}
	var a answer
	if l.dead != nil {
		a.err, a.transport = l.dead, true
	} else if m, err := l.r.Exchange(ctx, name, qtype); err != nil {
		l.dead = fmt.Errorf("looking up %s %s: %w", dns.TypeToString[qtype], name, err)
		a.err, a.transport = l.dead, true
	} else {
		l.answered++
		switch m.Rcode {
		case dns.RcodeSuccess:
			a.exists, a.rrs = true, m.Answer
		case dns.RcodeNameError:
			a.rrs = m.Answer // a CNAME to a missing name
		default:
			a.err = fmt.Errorf("looking up %s %s: the DNS server answered %s", dns.TypeToString[qtype], name, dns.RcodeToString[m.Rcode])
		}
	}
	if a.err != nil && l.first == nil {
		l.first = a.err
	}
	l.cache[key] = a
	return a
}

// txt is the TXT records at name, each record's strings joined without a
// separator (RFC 7208 3.3, RFC 6376 3.6.2.2).
func (l *lookups) txt(ctx context.Context, name string) ([]string, answer) {
	a := l.get(ctx, name, dns.TypeTXT)
	var out []string
	for _, rr := range ofType(a.rrs, dns.TypeTXT) {
		out = append(out, strings.Join(rr.(*dns.TXT).Txt, ""))
	}
	return out, a
}

func ofType(rrs []dns.RR, qtype uint16) []dns.RR {
	var out []dns.RR
	for _, rr := range rrs {
		if rr.Header().Rrtype == qtype {
			out = append(out, rr)
		}
	}
	return out
}
