// Package doctortest serves crafted DNS zones for tests of the domain
// doctor: a DNS server on 127.0.0.1 (UDP and TCP) that answers like a
// recursive resolver for the records a test gives it, following CNAMEs,
// with NXDOMAIN for names that do not exist and SERVFAIL for names the
// test marks as broken.
package doctortest

import (
	"net"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// Zone is a set of records. Names are fully qualified or not; case does
// not matter.
type Zone struct {
	rrs      map[string][]dns.RR
	servfail []string // names at or under which every query fails
}

// NewZone returns an empty zone.
func NewZone() *Zone { return &Zone{rrs: map[string][]dns.RR{}} }

func key(name string) string { return strings.ToLower(dns.Fqdn(name)) }

// RR adds records written as zone-file lines ("a.example. 300 IN MX 10 mx.a.example.").
func (z *Zone) RR(t testing.TB, lines ...string) *Zone {
	t.Helper()
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatalf("zone line %q: %v", l, err)
		}
		z.rrs[key(rr.Header().Name)] = append(z.rrs[key(rr.Header().Name)], rr)
	}
	return z
}

// TXT adds one TXT record at name, split into strings of at most 255
// characters as DNS requires (a DKIM key is longer).
func (z *Zone) TXT(name, value string) *Zone {
	var parts []string
	for len(value) > 255 {
		parts, value = append(parts, value[:255]), value[255:]
	}
	parts = append(parts, value)
	rr := &dns.TXT{Hdr: dns.RR_Header{Name: key(name), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 300}, Txt: parts}
	z.rrs[key(name)] = append(z.rrs[key(name)], rr)
	return z
}

// ServFail makes every query for name, or a name under it, fail.
func (z *Zone) ServFail(name string) *Zone {
	z.servfail = append(z.servfail, key(name))
	return z
}

// exists says whether name has records or names under it (an empty
// non-terminal answers NOERROR with no records, not NXDOMAIN).
func (z *Zone) exists(name string) bool {
	for n := range z.rrs {
		if n == name || strings.HasSuffix(n, "."+name) {
			return true
		}
	}
	return false
}

// Serve starts the server until the test ends and returns its address.
func (z *Zone) Serve(t testing.TB) string {
	t.Helper()
	// The TCP port must be the UDP one's; it may be taken: try another.
	var pc net.PacketConn
	var ln net.Listener
	var err error
	for range 20 {
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	h := dns.HandlerFunc(z.answer)
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { _ = srv.ActivateAndServe() }()
		<-started
		t.Cleanup(func() { _ = srv.Shutdown() })
	}
	return pc.LocalAddr().String()
}

func (z *Zone) answer(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := key(q.Name)
	for hop := 0; hop < 8; hop++ {
		for _, sf := range z.servfail {
			if name == sf || strings.HasSuffix(name, "."+sf) {
				m.Answer, m.Rcode = nil, dns.RcodeServerFailure
				_ = w.WriteMsg(m)
				return
			}
		}
		var cname *dns.CNAME
		for _, rr := range z.rrs[name] {
			if rr.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, rr)
			} else if c, ok := rr.(*dns.CNAME); ok {
				cname = c
			}
		}
		if len(m.Answer) > 0 && m.Answer[len(m.Answer)-1].Header().Rrtype == q.Qtype || cname == nil {
			if !z.exists(name) {
				m.Rcode = dns.RcodeNameError
			}
			break
		}
		m.Answer = append(m.Answer, cname)
		name = key(cname.Target)
	}
	if w.RemoteAddr().Network() == "udp" {
		size := dns.MinMsgSize
		if o := req.IsEdns0(); o != nil {
			size = int(o.UDPSize())
		}
		m.Truncate(size)
	}
	_ = w.WriteMsg(m)
}
