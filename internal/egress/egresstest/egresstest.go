// Package egresstest runs a DNS server for tests of the guarded dialer: it
// answers A queries with whatever the test says for each query, so a test
// can change a name's address between two lookups (DNS rebinding).
package egresstest

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// DNS is a DNS server on 127.0.0.1 for one test.
type DNS struct {
	addr   string
	answer func(name string, n int) []netip.Addr

	mu      sync.Mutex
	queries map[string]int
}

// StartDNS serves A queries until the test ends: answer gets the queried
// name (lower case, without the final dot) and how many A queries for it
// came before this one, and returns its addresses (none: NXDOMAIN). AAAA
// queries get an empty answer.
func StartDNS(t testing.TB, answer func(name string, n int) []netip.Addr) *DNS {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &DNS{addr: pc.LocalAddr().String(), answer: answer, queries: map[string]int{}}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(d.serve)}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	return d
}

func (d *DNS) serve(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	for _, q := range req.Question {
		name := strings.TrimSuffix(strings.ToLower(q.Name), ".")
		if q.Qtype != dns.TypeA {
			continue
		}
		d.mu.Lock()
		n := d.queries[name]
		d.queries[name]++
		d.mu.Unlock()
		ips := d.answer(name, n)
		if len(ips) == 0 {
			m.Rcode = dns.RcodeNameError
		}
		for _, ip := range ips {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 0}, A: ip.AsSlice()})
		}
	}
	_ = w.WriteMsg(m)
}

// Queries is how many A queries for name the server answered.
func (d *DNS) Queries(name string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.queries[name]
}

// Resolver asks this server, and nothing else.
func (d *DNS) Resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var nd net.Dialer
		return nd.DialContext(ctx, "udp", d.addr)
	}}
}
