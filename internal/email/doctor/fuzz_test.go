package doctor_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/joist-dev/joist/internal/email/doctor"
	"github.com/joist-dev/joist/wire"
)

// fakeDNS answers every TXT question with the records of txt (one per
// line), every MX with one host, and NXDOMAIN for names starting "nx".
type fakeDNS struct{ txt []string }

func (f fakeDNS) Exchange(_ context.Context, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	if strings.HasPrefix(name, "nx") {
		m.Rcode = dns.RcodeNameError
		return m, nil
	}
	hdr := dns.RR_Header{Name: dns.Fqdn(name), Rrtype: qtype, Class: dns.ClassINET}
	switch qtype {
	case dns.TypeTXT:
		for _, t := range f.txt {
			m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr, Txt: []string{t}})
		}
	case dns.TypeMX:
		m.Answer = append(m.Answer, &dns.MX{Hdr: hdr, Preference: 10, Mx: "mx.example."})
	}
	return m, nil
}

// FuzzCheck feeds hostile records (every TXT lookup answers them) to
// every check: the doctor must never panic, and every result must be
// one of the documented checks and statuses, a warn or fail with a fix,
// and no input may keep it busy for long.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		"v=spf1 include:a.example include:nx.example +all",
		"v=spf1 redirect=b.example\nv=DMARC1; p=none; pct=abc",
		"v=spf1 a/24 mx:/ ip4:300.1.1.1 -all",
		"v=spf1 + - ~ ? all",
		"v=DKIM1; k=rsa; p=MIIB\nv=DKIM1; k=ed25519; p=AAAA; t=y:s; h=sha1",
		"p=reject; v=DMARC1",
		"v=STSv1; id=\nv=TLSRPTv1",
		"v=spf1 exists:%{i}.example ptr ~all",
		";;;=;=v=;",
	} {
		f.Add(s, "smtp")
		f.Add(s, "resend")
	}
	f.Fuzz(func(t *testing.T, records, provider string) {
		if !doctor.ValidProvider(provider) {
			provider = "postmark"
		}
		in := doctor.Input{Domain: "example.com", Provider: provider, SPFInclude: "relay.example",
			Selectors: []doctor.Selector{{Name: "s1"}}, Resolver: fakeDNS{txt: strings.Split(records, "\n")}}
		done := make(chan doctor.Report)
		go func() { done <- doctor.Check(context.Background(), in) }()
		var r doctor.Report
		select {
		case r = <-done:
		case <-time.After(3 * time.Second):
			t.Fatalf("Check still running after 3s (records that include each other must not take exponential time)")
		}
		for _, c := range r.Checks {
			switch c.Check {
			case doctor.CheckSPF, doctor.CheckDKIM, doctor.CheckDMARC, doctor.CheckMX, doctor.CheckMTASTS, doctor.CheckTLSRPT:
			default:
				t.Fatalf("unknown check %q", c.Check)
			}
			switch c.Status {
			case wire.CheckPass, wire.CheckInfo:
			case wire.CheckWarn, wire.CheckFail:
				if c.Fix == "" {
					t.Fatalf("%s %s without a fix: %s", c.Check, c.Status, c.Message)
				}
			default:
				t.Fatalf("unknown status %q", c.Status)
			}
		}
	})
}

func TestSPFIncludesThatIncludeEachOther(t *testing.T) {
	// Every name answers the same record: walking every order of 12
	// includes would take 12! steps; counting stops past 50.
	var terms []string
	for i := range 12 {
		terms = append(terms, "include:i"+string(rune('a'+i))+".example")
	}
	rec := "v=spf1 " + strings.Join(terms, " ") + " ~all"
	done := make(chan doctor.Report)
	go func() {
		done <- doctor.Check(context.Background(), doctor.Input{Domain: "example.com", Resolver: fakeDNS{txt: []string{rec}}})
	}()
	select {
	case r := <-done:
		want(t, r, "spf", "fail", "needs more than 50 DNS lookups", "include:ia.example costs more than 50")
	case <-time.After(10 * time.Second):
		t.Fatal("SPF counting did not stop")
	}
}
