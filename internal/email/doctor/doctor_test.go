package doctor_test

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/email/doctor"
	"github.com/joist-dev/joist/internal/email/doctor/doctortest"
	"github.com/joist-dev/joist/wire"
)

// keys are the DKIM keys the crafted zones publish.
type keys struct {
	rsa, other, weak *rsa.PrivateKey
	ed               ed25519.PrivateKey
}

func dkimValue(t *testing.T, pub crypto.PublicKey) string {
	t.Helper()
	v, err := doctor.DKIMRecordValue(pub)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// zones serves one good domain and one broken domain per way of being
// broken, all on one DNS server.
func zones(t *testing.T) (string, keys) {
	t.Helper()
	var k keys
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if k.other, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if k.weak, err = rsa.GenerateKey(rand.Reader, 1024); err != nil {
		t.Fatal(err)
	}
	if _, k.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	good := dkimValue(t, k.rsa.Public())
	z := doctortest.NewZone()
	// The relay joist's SMTP provider sends through, and a good domain.
	z.TXT("_spf.relay.example", "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all")
	base := func(d string) {
		z.RR(t, d+". 300 IN MX 10 mx."+d+".", "mx."+d+". 300 IN A 192.0.2.25")
		z.TXT("_dmarc."+d, "v=DMARC1; p=reject; rua=mailto:dmarc@"+d)
	}
	z.TXT("good.example", "v=spf1 include:_spf.relay.example ~all").
		TXT("good.example", "google-site-verification=abc").
		TXT("j1._domainkey.good.example", good).
		TXT("j2._domainkey.good.example", dkimValue(t, k.ed.Public())).
		TXT("_mta-sts.good.example", "v=STSv1; id=20240101").
		TXT("_smtp._tls.good.example", "v=TLSRPTv1; rua=mailto:tls@good.example")
	base("good.example")

	z.TXT("twospf.example", "v=spf1 include:_spf.relay.example ~all").TXT("twospf.example", "v=spf1 ip4:198.51.100.7 -all")
	base("twospf.example")

	// 11 DNS-querying terms through nested includes.
	z.TXT("deep.example", "v=spf1 mx include:i1.deep.example ~all").
		TXT("i1.deep.example", "v=spf1 a:h.deep.example mx:h.deep.example include:i2.deep.example -all").
		TXT("i2.deep.example", "v=spf1 a:h.deep.example mx:h.deep.example exists:h.deep.example include:i3.deep.example -all").
		TXT("i3.deep.example", "v=spf1 a:h.deep.example mx:h.deep.example -all")
	z.RR(t, "h.deep.example. 300 IN A 192.0.2.9", "h.deep.example. 300 IN MX 10 h.deep.example.")
	base("deep.example")

	z.TXT("void.example", "v=spf1 a:nx1.void.example a:nx2.void.example mx:nx3.void.example include:_spf.relay.example ~all")
	base("void.example")
	z.TXT("plusall.example", "v=spf1 include:_spf.relay.example +all")
	base("plusall.example")
	z.TXT("qall.example", "v=spf1 include:_spf.relay.example ?all")
	base("qall.example")
	z.TXT("noinc.example", "v=spf1 ip4:198.51.100.7 -all")
	base("noinc.example")

	z.TXT("nodmarc.example", "v=spf1 include:_spf.relay.example ~all")
	z.RR(t, "nodmarc.example. 300 IN MX 10 mx.nodmarc.example.")
	z.TXT("pnone.example", "v=spf1 include:_spf.relay.example ~all").TXT("_dmarc.pnone.example", "v=DMARC1; p=none")
	z.TXT("order.example", "v=spf1 include:_spf.relay.example ~all").TXT("_dmarc.order.example", "p=reject; v=DMARC1; rua=mailto:d@order.example")
	z.TXT("pct.example", "v=spf1 include:_spf.relay.example ~all").TXT("_dmarc.pct.example", "v=DMARC1; p=quarantine; pct=25; rua=mailto:d@pct.example; aspf=s")
	// A subdomain without a record of its own takes its organizational
	// domain's, with sp=.
	z.TXT("mail.org.example", "v=spf1 include:_spf.relay.example ~all").TXT("_dmarc.org.example", "v=DMARC1; p=reject; sp=none; rua=mailto:d@org.example")

	z.TXT("sel._domainkey.mismatch.example", dkimValue(t, k.other.Public()))
	z.TXT("sel._domainkey.revoked.example", "v=DKIM1; k=rsa; p=")
	z.TXT("sel._domainkey.weak.example", dkimValue(t, k.weak.Public()))
	z.TXT("sel._domainkey.testing.example", "v=DKIM1; t=y; k=rsa; p="+strings.TrimPrefix(good, "v=DKIM1; k=rsa; p="))
	for _, d := range []string{"mismatch.example", "revoked.example", "weak.example", "testing.example"} {
		z.TXT(d, "v=spf1 include:_spf.relay.example ~all")
		base(d)
	}

	// Resend: everything on send.<domain> and resend._domainkey; the bad
	// one has only the DKIM record.
	z.TXT("resend.example", "v=spf1 -all").TXT("resend._domainkey.resend.example", good).
		RR(t, "send.resend.example. 300 IN MX 10 feedback-smtp.eu-west-1.amazonses.com.").
		TXT("send.resend.example", "v=spf1 include:amazonses.com ~all").
		TXT("amazonses.com", "v=spf1 ip4:199.255.192.0/22 -all")
	base("resend.example")
	z.TXT("resendbad.example", "v=spf1 -all").TXT("resend._domainkey.resendbad.example", good)
	base("resendbad.example")

	// Postmark: its DKIM selector and the Return-Path CNAME.
	z.TXT("20240101123456pm._domainkey.postmark.example", good).
		RR(t, "pm-bounces.postmark.example. 300 IN CNAME pm.mtasv.net.").
		TXT("pm.mtasv.net", "v=spf1 ip4:50.31.156.0/24 -all")
	base("postmark.example")
	z.TXT("20240101123456pm._domainkey.postmarkbad.example", good)
	base("postmarkbad.example")

	z.TXT("broken.example", "v=spf1 -all").ServFail("_dmarc.broken.example")
	base("broken.example")
	return z.Serve(t), k
}

func check(t *testing.T, addr string, in doctor.Input) doctor.Report {
	t.Helper()
	r, err := doctor.NewResolver(addr)
	if err != nil {
		t.Fatal(err)
	}
	in.Resolver = r
	return doctor.Check(context.Background(), in)
}

// want asserts that the report has an entry for check with status whose
// message contains every fragment; a non-pass entry must say what to fix.
func want(t *testing.T, r doctor.Report, check, status string, fragments ...string) wire.DomainCheckItem {
	t.Helper()
	for _, c := range r.Checks {
		if c.Check != check || c.Status != status {
			continue
		}
		ok := true
		for _, f := range fragments {
			ok = ok && strings.Contains(c.Message+" | "+c.Fix, f)
		}
		if ok {
			if (status == wire.CheckFail || status == wire.CheckWarn) && c.Fix == "" {
				t.Errorf("%s %s %q has no fix", check, status, c.Message)
			}
			return c
		}
	}
	t.Fatalf("no %s %s entry with %q in:\n%s", check, status, fragments, dump(r))
	return wire.DomainCheckItem{}
}

// none asserts that no entry of check has status.
func none(t *testing.T, r doctor.Report, check, status string) {
	t.Helper()
	for _, c := range r.Checks {
		if c.Check == check && c.Status == status {
			t.Fatalf("unexpected %s %s: %s\n%s", check, status, c.Message, dump(r))
		}
	}
}

func dump(r doctor.Report) string {
	b, _ := json.MarshalIndent(r, "", "  ")
	return string(b)
}

func TestCheck(t *testing.T) {
	addr, k := zones(t)
	smtp := func(domain string, sels ...doctor.Selector) doctor.Input {
		return doctor.Input{Domain: domain, Provider: doctor.ProviderSMTP, SPFInclude: "_spf.relay.example", Selectors: sels}
	}

	t.Run("good", func(t *testing.T) {
		r := check(t, addr, smtp("Good.Example.", doctor.Selector{Name: "j1", PublicKey: k.rsa.Public()}, doctor.Selector{Name: "j2", PublicKey: k.ed.Public()}))
		if r.Err != nil || r.Failed() || r.Domain != "good.example" {
			t.Fatalf("err %v, failed %v:\n%s", r.Err, r.Failed(), dump(r))
		}
		for _, c := range r.Checks {
			if c.Status == wire.CheckWarn {
				t.Errorf("warning on a good domain: %s", c.Message)
			}
		}
		want(t, r, "spf", "pass", "one SPF record at good.example", "1 of 10 DNS lookups", "0 void", "ends in ~all")
		want(t, r, "dkim", "pass", "j1._domainkey.good.example", "RSA 2048-bit key, the one joist signs with")
		want(t, r, "dkim", "pass", "j2._domainkey.good.example", "Ed25519 key, the one joist signs with")
		want(t, r, "dmarc", "pass", "p=reject")
		want(t, r, "dmarc", "info", "alignment", "relaxed")
		want(t, r, "mx", "pass", "10 mx.good.example")
		want(t, r, "mta_sts", "info", "id=20240101")
		want(t, r, "tls_rpt", "info", "mailto:tls@good.example")
		// The report lists the checks in a stable order.
		order := []string{"spf", "dkim", "dmarc", "mx", "mta_sts", "tls_rpt"}
		last := 0
		for _, c := range r.Checks {
			i := strings.Index(strings.Join(order, ","), c.Check)
			if i < last {
				t.Fatalf("checks out of order:\n%s", dump(r))
			}
			last = i
		}
		// The JSON is the wire shape, nothing more.
		b, _ := json.Marshal(r)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		if len(m) != 2 || m["domain"] != "good.example" {
			t.Fatalf("JSON %s", b)
		}
	})

	t.Run("no selector", func(t *testing.T) {
		r := check(t, addr, smtp("good.example"))
		want(t, r, "dkim", "info", "no selector given")
		none(t, r, "dkim", "pass")
	})

	t.Run("two SPF records", func(t *testing.T) {
		r := check(t, addr, smtp("twospf.example"))
		c := want(t, r, "spf", "fail", "2 SPF records at twospf.example")
		if !strings.Contains(c.Fix, `TXT twospf.example "v=spf1 include:_spf.relay.example ip4:198.51.100.7 -all"`) {
			t.Fatalf("fix does not merge the records: %s", c.Fix)
		}
		none(t, r, "spf", "pass")
	})

	t.Run("11 lookups through nested includes", func(t *testing.T) {
		r := check(t, addr, doctor.Input{Domain: "deep.example"})
		want(t, r, "spf", "fail", "needs 11 DNS lookups", "limit is 10", "include:i1.deep.example costs 10", "mx costs 1")
		none(t, r, "spf", "pass")
	})

	t.Run("3 void lookups", func(t *testing.T) {
		r := check(t, addr, smtp("void.example"))
		c := want(t, r, "spf", "fail", "3 void lookups", "a:nx1.void.example", "mx:nx3.void.example")
		if !strings.Contains(c.Fix, `TXT void.example "v=spf1 include:_spf.relay.example ~all"`) {
			t.Fatalf("fix: %s", c.Fix)
		}
	})

	t.Run("+all", func(t *testing.T) {
		r := check(t, addr, smtp("plusall.example"))
		want(t, r, "spf", "fail", "ends in +all", `"v=spf1 include:_spf.relay.example ~all"`)
	})

	t.Run("?all", func(t *testing.T) {
		r := check(t, addr, smtp("qall.example"))
		want(t, r, "spf", "warn", "?all", `"v=spf1 include:_spf.relay.example ~all"`)
		want(t, r, "spf", "pass", "ends in ?all")
		if r.Failed() {
			t.Fatalf("?all alone must not fail:\n%s", dump(r))
		}
	})

	t.Run("relay include missing", func(t *testing.T) {
		r := check(t, addr, smtp("noinc.example"))
		want(t, r, "spf", "fail", "does not include _spf.relay.example", `"v=spf1 ip4:198.51.100.7 include:_spf.relay.example -all"`)
		// Nested includes count: good.example reaches the relay directly,
		// and asking for the included host of an include counts too.
		r = check(t, addr, doctor.Input{Domain: "deep.example", SPFInclude: "i3.deep.example"})
		none(t, r, "spf", "info")
		for _, c := range r.Checks {
			if strings.Contains(c.Message, "does not include") {
				t.Fatalf("a nested include was not found: %s", c.Message)
			}
		}
	})

	t.Run("no DMARC", func(t *testing.T) {
		r := check(t, addr, smtp("nodmarc.example"))
		want(t, r, "dmarc", "fail", "no DMARC record at _dmarc.nodmarc.example", `TXT _dmarc.nodmarc.example "v=DMARC1; p=none; rua=mailto:dmarc-reports@nodmarc.example"`)
	})

	t.Run("p=none and no rua", func(t *testing.T) {
		r := check(t, addr, smtp("pnone.example"))
		want(t, r, "dmarc", "warn", "p=none", `"v=DMARC1; p=quarantine"`)
		want(t, r, "dmarc", "warn", "no rua=", `"v=DMARC1; p=none; rua=mailto:dmarc-reports@pnone.example"`)
		none(t, r, "dmarc", "fail")
	})

	t.Run("DMARC not first tag", func(t *testing.T) {
		r := check(t, addr, smtp("order.example"))
		want(t, r, "dmarc", "fail", "v=DMARC1 must be its first tag", `TXT _dmarc.order.example "v=DMARC1; p=reject; rua=mailto:d@order.example"`)
	})

	t.Run("pct and strict SPF alignment with a provider", func(t *testing.T) {
		r := check(t, addr, doctor.Input{Domain: "pct.example", Provider: doctor.ProviderPostmark})
		want(t, r, "dmarc", "warn", "pct=25", `"v=DMARC1; p=quarantine; rua=mailto:d@pct.example; aspf=s"`)
		want(t, r, "dmarc", "warn", "aspf=s", "pm-bounces.pct.example")
		want(t, r, "dmarc", "info", "strict (aspf=s")
	})

	t.Run("organizational domain's DMARC", func(t *testing.T) {
		r := check(t, addr, smtp("mail.org.example"))
		want(t, r, "dmarc", "warn", "_dmarc.org.example", "sp=none", "sp=quarantine")
		want(t, r, "dmarc", "pass", "_dmarc.org.example")
	})

	t.Run("DKIM key mismatch", func(t *testing.T) {
		r := check(t, addr, smtp("mismatch.example", doctor.Selector{Name: "sel", PublicKey: k.rsa.Public()}))
		want(t, r, "dkim", "fail", "another key than the one joist signs with", dkimValue(t, k.rsa.Public()))
		// Without the key to compare, the record itself is sound.
		r = check(t, addr, smtp("mismatch.example", doctor.Selector{Name: "sel"}))
		want(t, r, "dkim", "pass", "RSA 2048-bit key")
	})

	t.Run("DKIM revoked", func(t *testing.T) {
		r := check(t, addr, smtp("revoked.example", doctor.Selector{Name: "sel", PublicKey: k.rsa.Public()}))
		want(t, r, "dkim", "fail", "empty p=", "revoked", `TXT sel._domainkey.revoked.example "v=DKIM1; k=rsa; p=`, "255")
	})

	t.Run("DKIM 1024-bit", func(t *testing.T) {
		r := check(t, addr, smtp("weak.example", doctor.Selector{Name: "sel", PublicKey: k.weak.Public()}))
		want(t, r, "dkim", "warn", "RSA 1024-bit key", "new selector")
		none(t, r, "dkim", "fail")
	})

	t.Run("DKIM t=y", func(t *testing.T) {
		r := check(t, addr, smtp("testing.example", doctor.Selector{Name: "sel"}))
		c := want(t, r, "dkim", "warn", "t=y")
		if strings.Contains(c.Fix, "t=y") || !strings.Contains(c.Fix, "v=DKIM1; k=rsa; p=MII") {
			t.Fatalf("fix keeps t=y or loses the key: %s", c.Fix)
		}
	})

	t.Run("DKIM missing", func(t *testing.T) {
		r := check(t, addr, smtp("good.example", doctor.Selector{Name: "nope", PublicKey: k.rsa.Public()}))
		want(t, r, "dkim", "fail", "no DKIM record at nope._domainkey.good.example", `TXT nope._domainkey.good.example "v=DKIM1; k=rsa; p=`)
	})

	t.Run("resend", func(t *testing.T) {
		r := check(t, addr, doctor.Input{Domain: "resend.example", Provider: doctor.ProviderResend})
		if r.Failed() {
			t.Fatalf("resend.example fails:\n%s", dump(r))
		}
		want(t, r, "mx", "pass", "Resend: MX at send.resend.example", "feedback-smtp.eu-west-1.amazonses.com")
		want(t, r, "spf", "pass", "Resend: one SPF record at send.resend.example")
		want(t, r, "dkim", "pass", "resend._domainkey.resend.example")
	})

	t.Run("resend records missing on send.<domain>", func(t *testing.T) {
		r := check(t, addr, doctor.Input{Domain: "resendbad.example", Provider: doctor.ProviderResend})
		want(t, r, "mx", "fail", "Resend: no MX record at send.resendbad.example", "MX send.resendbad.example 10 feedback-smtp.us-east-1.amazonses.com")
		want(t, r, "spf", "fail", "Resend: no SPF record at send.resendbad.example", `TXT send.resendbad.example "v=spf1 include:amazonses.com ~all"`)
		want(t, r, "dkim", "pass", "resend._domainkey.resendbad.example")
	})

	t.Run("postmark", func(t *testing.T) {
		r := check(t, addr, doctor.Input{Domain: "postmark.example", Provider: doctor.ProviderPostmark, Selectors: []doctor.Selector{{Name: "20240101123456pm"}}})
		want(t, r, "spf", "pass", "pm-bounces.postmark.example is a CNAME to pm.mtasv.net")
		want(t, r, "dkim", "pass", "20240101123456pm._domainkey.postmark.example")
		want(t, r, "spf", "warn", "no SPF record at postmark.example", `"v=spf1 -all"`)
		r = check(t, addr, doctor.Input{Domain: "postmarkbad.example", Provider: doctor.ProviderPostmark})
		want(t, r, "spf", "warn", "no CNAME at pm-bounces.postmarkbad.example", "CNAME pm-bounces.postmarkbad.example pm.mtasv.net")
		want(t, r, "dkim", "info", "no selector given")
	})

	t.Run("DNS failure", func(t *testing.T) {
		r := check(t, addr, smtp("broken.example"))
		if r.Err == nil || !strings.Contains(r.Err.Error(), "SERVFAIL") {
			t.Fatalf("Err = %v", r.Err)
		}
		want(t, r, "dmarc", "fail", "could not check", "_dmarc.broken.example")
		want(t, r, "mx", "pass") // the other checks still ran
	})

	t.Run("bad input", func(t *testing.T) {
		for _, in := range []doctor.Input{{Domain: "not a domain"}, {Domain: "localhost"}, {Domain: "good.example", Provider: "mailgun"}} {
			r := check(t, addr, in)
			if r.Err == nil || len(r.Checks) != 0 {
				t.Errorf("%+v: err %v, %d checks", in, r.Err, len(r.Checks))
			}
		}
	})
}

func TestUnreachableResolver(t *testing.T) {
	// Nothing listens on this port: the first lookup times out, the rest
	// fail at once instead of waiting again.
	r := &doctor.Server{Addr: "127.0.0.1:9", Timeout: 200_000_000}
	rep := doctor.Check(context.Background(), doctor.Input{Domain: "good.example", Resolver: r})
	if rep.Err == nil || !strings.Contains(rep.Err.Error(), "did not answer") || len(rep.Checks) != 0 {
		t.Fatalf("Err %v:\n%s", rep.Err, dump(rep))
	}
}
