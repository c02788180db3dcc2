package email_test

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/miekg/dns"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/config"
	"github.com/joist-dev/joist/internal/email/doctor/doctortest"
	"github.com/joist-dev/joist/wire"
)

// TestDomains: a tenant adds a domain and gets the records to publish (the
// DKIM key complete, and split in 255-character strings); a name has one
// owner; the instance's domains are its own; a tenant sees only its own.
func TestDomains(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		newTenant(t, env, "acme")
		newTenant(t, env, "bravo")
		acme, bravo, inst := newCaller(t, env, "acme"), newCaller(t, env, "bravo"), newCaller(t, env, "")
		r := acme.do(t, "POST", "/v1/domains", `{"name":"Mail.Acme.Example.","provider":"smtp","ed25519":true,"spf_include":"_spf.relay.example"}`)
		if r.status != http.StatusCreated || r.header.Get("Location") != "/v1/domains/mail.acme.example" {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		var d wire.Domain
		r.json(t, &d)
		if d.Name != "mail.acme.example" || d.Instance || len(d.DKIM) != 2 || d.DKIM[0].Status != "active" {
			t.Fatalf("domain: %s", r.body)
		}
		byName := map[string]wire.DomainRecord{}
		for _, rec := range d.Records {
			byName[rec.Type+" "+rec.Name] = rec
		}
		rsaSel := d.DKIM[0].Selector
		if d.DKIM[0].Algorithm != "rsa" {
			rsaSel = d.DKIM[1].Selector
		}
		dk := byName["TXT "+rsaSel+"._domainkey.mail.acme.example"]
		if !strings.HasPrefix(dk.Value, "v=DKIM1; k=rsa; p=MIIBIjAN") || len(dk.Strings) < 2 || strings.Join(dk.Strings, "") != dk.Value ||
			!strings.Contains(dk.Purpose, "255") {
			t.Fatalf("DKIM record: %+v", dk)
		}
		if ed := byName["TXT "+rsaSel+"-ed._domainkey.mail.acme.example"]; !strings.HasPrefix(ed.Value, "v=DKIM1; k=ed25519; p=") || ed.Strings != nil {
			t.Fatalf("Ed25519 record: %+v", ed)
		}
		if spf := byName["TXT mail.acme.example"]; spf.Value != "v=spf1 include:_spf.relay.example ~all" {
			t.Fatalf("SPF: %+v", spf)
		}
		if dm := byName["TXT _dmarc.mail.acme.example"]; !strings.HasPrefix(dm.Value, "v=DMARC1; p=none; rua=mailto:") {
			t.Fatalf("DMARC: %+v", dm)
		}
		// One owner: another tenant, or the instance, claiming the name is 409.
		for _, c := range []*caller{bravo, inst, acme} {
			before := env.Count(t, "email_domains")
			if r := c.do(t, "POST", "/v1/domains", `{"name":"mail.acme.example"}`); r.status != http.StatusConflict ||
				!strings.Contains(string(r.body), "domain_taken") || env.Count(t, "email_domains") != before {
				t.Fatalf("second owner %q: %d %s", c.Tenant, r.status, r.body)
			}
		}
		for body, code := range map[string]string{`{"name":"not a domain"}`: "invalid_domain", `{"name":"x.example","provider":"ses"}`: "invalid_provider",
			`{"name":"x.example","provider":"resend","ed25519":true}`: "invalid_dkim"} {
			var p problem
			r := acme.do(t, "POST", "/v1/domains", body)
			r.json(t, &p)
			if r.status != http.StatusBadRequest || p.Code != code {
				t.Fatalf("%s: %d %s", body, r.status, r.body)
			}
		}
		// The instance's domain; resend: no key of joist's, the provider's records.
		r = inst.do(t, "POST", "/v1/domains", `{"name":"shared.example","provider":"resend"}`)
		r.json(t, &d)
		if r.status != http.StatusCreated || !d.Instance || len(d.DKIM) != 0 || d.Records[0].Name != "resend._domainkey.shared.example" {
			t.Fatalf("instance domain: %d %s", r.status, r.body)
		}
		if r := inst.do(t, "POST", "/v1/domains/shared.example/rotate-dkim", nil); r.status != http.StatusBadRequest {
			t.Fatalf("rotate a resend domain: %d %s", r.status, r.body)
		}
		var list wire.List[wire.Domain]
		acme.do(t, "GET", "/v1/domains", nil).json(t, &list)
		if len(list.Data) != 1 || list.Data[0].Name != "mail.acme.example" {
			t.Fatalf("acme's list: %+v", list)
		}
		bravo.do(t, "GET", "/v1/domains", nil).json(t, &list)
		if len(list.Data) != 0 {
			t.Fatalf("bravo's list: %+v", list)
		}
		if r := bravo.do(t, "GET", "/v1/domains/mail.acme.example", nil); r.status != http.StatusNotFound {
			t.Fatalf("bravo reads acme's domain: %d", r.status)
		}
		if r := bravo.do(t, "DELETE", "/v1/domains/mail.acme.example", nil); r.status != http.StatusNotFound {
			t.Fatalf("bravo deletes acme's domain: %d", r.status)
		}
		if r := acme.do(t, "GET", "/v1/domains/mail.acme.example", nil); r.status != http.StatusOK {
			t.Fatalf("get: %d %s", r.status, r.body)
		}
		if r := acme.do(t, "DELETE", "/v1/domains/mail.acme.example", nil); r.status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		if r := acme.do(t, "GET", "/v1/domains/mail.acme.example", nil); r.status != http.StatusNotFound || env.Count(t, "email_dkim_keys") != 0 {
			t.Fatalf("after delete: %d, %d keys", r.status, env.Count(t, "email_dkim_keys"))
		}
		// Free again: another owner may take it.
		if r := bravo.do(t, "POST", "/v1/domains", `{"name":"mail.acme.example"}`); r.status != http.StatusCreated {
			t.Fatalf("after delete, bravo: %d %s", r.status, r.body)
		}
	})
}

// dnsProxy is a DNS server in the test that forwards every question to the
// zone server it currently points at, so a test can publish new records
// (a new zone) while joist keeps asking the same JOIST_DNS_SERVER.
type dnsProxy struct {
	addr     string
	upstream atomic.Value // string
}

func newDNSProxy(t *testing.T) *dnsProxy {
	p := &dnsProxy{}
	p.upstream.Store("")
	srv := &dns.Server{Addr: "127.0.0.1:0", Net: "udp", Handler: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		c := &dns.Client{Net: "tcp"}
		in, _, err := c.Exchange(req, p.upstream.Load().(string))
		if err != nil {
			m := new(dns.Msg)
			m.SetRcode(req, dns.RcodeServerFailure)
			_ = w.WriteMsg(m)
			return
		}
		_ = w.WriteMsg(in)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { _ = srv.ListenAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	p.addr = srv.PacketConn.LocalAddr().String()
	return p
}

// serve points the proxy at a new zone of exactly these records.
func (p *dnsProxy) serve(t *testing.T, recs []wire.DomainRecord) {
	z := doctortest.NewZone()
	for _, r := range recs {
		if r.Type == "TXT" && r.Value != "" {
			z.TXT(r.Name, r.Value)
		}
	}
	p.upstream.Store(z.Serve(t))
}

// lookupTXT asks the DNS server at addr (over UDP, as the proxy serves),
// one string per TXT record.
func lookupTXT(addr string) func(name string) ([]string, error) {
	return func(name string) ([]string, error) {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
		m.SetEdns0(4096, false)
		in, _, err := new(dns.Client).Exchange(m, addr)
		if err != nil {
			return nil, err
		}
		var out []string
		for _, rr := range in.Answer {
			if txt, ok := rr.(*dns.TXT); ok {
				out = append(out, strings.Join(txt.Txt, ""))
			}
		}
		return out, nil
	}
}

// TestDKIMOverSMTP (scope point 8): with the smtp provider, a from on no
// domain of the tenant or the instance is 422 and stores nothing; a message
// from a registered domain reaches the SMTP server in the test signed with
// RSA and Ed25519, and go-msgauth verifies both signatures looking the
// keys up through a DNS server in the test that serves exactly the records
// POST /v1/domains answered. The check route reads the same DNS; a rotation
// publishes a new selector beside the old one and signing switches once the
// check sees it.
func TestDKIMOverSMTP(t *testing.T) {
	t.Parallel()
	rl := newRelay(t)
	px := newDNSProxy(t)
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		rl.mu.Lock()
		rl.got, rl.attempts, rl.fail = nil, 0, nil
		rl.mu.Unlock()
		newTenant(t, env, "acme")
		newTenant(t, env, "bravo")
		acme, bravo, inst := newCaller(t, env, "acme"), newCaller(t, env, "bravo"), newCaller(t, env, "")
		if r := bravo.do(t, "POST", "/v1/domains", `{"name":"bravo.example"}`); r.status != http.StatusCreated {
			t.Fatalf("bravo's domain: %d %s", r.status, r.body)
		}
		for _, from := range []string{"hello@acme.example", "ceo@bravo.example", "x@sub.shared.example"} {
			r := acme.do(t, "POST", "/v1/emails", `{"from":"`+from+`","to":"ana@x.example","subject":"s","text":"t"}`)
			var p problem
			r.json(t, &p)
			if r.status != http.StatusUnprocessableEntity || p.Code != "from_domain_not_allowed" || p.Field != "from" || env.Count(t, "emails") != 0 {
				t.Fatalf("from %s: %d %s (%d emails)", from, r.status, r.body, env.Count(t, "emails"))
			}
		}
		// The instance's domain is every tenant's to send from.
		if r := inst.do(t, "POST", "/v1/domains", `{"name":"shared.example"}`); r.status != http.StatusCreated {
			t.Fatalf("instance domain: %d %s", r.status, r.body)
		}
		r := acme.do(t, "POST", "/v1/domains", `{"name":"acme.example","ed25519":true}`)
		var d wire.Domain
		r.json(t, &d)
		px.serve(t, d.Records)

		e := sendOK(t, acme, `{"from":"Acme <hello@acme.example>","to":"ana@x.example","cc":"cy@x.example","subject":"Your receipt","html":"<p>Hi</p>","text":"Hi"}`)
		waitStatus(t, acme, e.ID, "sent")
		eShared := sendOK(t, acme, `{"from":"noreply@shared.example","to":"ana@x.example","subject":"Shared","text":"s"}`)
		waitStatus(t, acme, eShared.ID, "sent")
		msgs := rl.messages()
		if len(msgs) != 2 {
			t.Fatalf("relay got %d messages", len(msgs))
		}
		vs, err := dkim.VerifyWithOptions(bytes.NewReader(msgs[0].data), &dkim.VerifyOptions{LookupTXT: lookupTXT(px.addr)})
		if err != nil || len(vs) != 2 {
			t.Fatalf("verify: %v, %d signatures\n%s", err, len(vs), msgs[0].data)
		}
		for _, v := range vs {
			if v.Err != nil || v.Domain != "acme.example" {
				t.Fatalf("signature of %s: %v\n%s", v.Domain, v.Err, msgs[0].data)
			}
			for _, h := range []string{"from", "to", "cc", "subject", "date", "message-id", "mime-version", "content-type"} {
				if !slices.ContainsFunc(v.HeaderKeys, func(k string) bool { return strings.EqualFold(k, h) }) {
					t.Fatalf("%s is not signed: %v", h, v.HeaderKeys)
				}
			}
		}
		if !bytes.Contains(msgs[0].data, []byte("c=relaxed/relaxed")) {
			t.Fatalf("not relaxed/relaxed:\n%s", msgs[0].data)
		}
		// A message altered on the way fails.
		bad := bytes.Replace(msgs[0].data, []byte("Your receipt"), []byte("Your refund"), 1)
		if vs, _ := dkim.VerifyWithOptions(bytes.NewReader(bad), &dkim.VerifyOptions{LookupTXT: lookupTXT(px.addr)}); len(vs) == 0 || vs[0].Err == nil {
			t.Fatal("an altered message verified")
		}

		// The check reads the same DNS: joist's keys pass.
		var rep wire.DomainCheck
		r = acme.do(t, "GET", "/v1/domains/acme.example/check", nil)
		r.json(t, &rep)
		if r.status != http.StatusOK || rep.Domain != "acme.example" || countChecks(rep, "dkim", "pass") != 2 || countChecks(rep, "dmarc", "pass") == 0 {
			t.Fatalf("check: %d %s", r.status, r.body)
		}

		// Rotation: a new selector, pending, published beside the old one.
		oldSel := activeSelector(t, d)
		r = acme.do(t, "POST", "/v1/domains/acme.example/rotate-dkim", nil)
		var rot wire.Domain
		r.json(t, &rot)
		if r.status != http.StatusOK || len(rot.DKIM) != 4 || rot.DKIM[0].Status != "pending" || rot.DKIM[0].Selector == oldSel {
			t.Fatalf("rotate: %d %s", r.status, r.body)
		}
		if r := acme.do(t, "POST", "/v1/domains/acme.example/rotate-dkim", nil); r.status != http.StatusConflict {
			t.Fatalf("second rotation: %d %s", r.status, r.body)
		}
		// Not published yet: the check says so, and the old key still signs.
		acme.do(t, "GET", "/v1/domains/acme.example/check", nil).json(t, &rep)
		if countChecks(rep, "dkim", "fail") != 2 {
			t.Fatalf("check before publishing: %+v", rep)
		}
		e2 := sendOK(t, acme, `{"from":"hello@acme.example","to":"bo@x.example","subject":"Before","text":"b"}`)
		waitStatus(t, acme, e2.ID, "sent")
		if last := rl.messages()[len(rl.messages())-1].data; !bytes.Contains(last, []byte("s="+oldSel+";")) {
			t.Fatalf("before the switch, not signed with %s:\n%s", oldSel, last)
		}
		// Published: the check switches signing to the new selector. It
		// runs on a second node, so that the first, which signed with the
		// old key and keeps keys by id, learns of the switch from the
		// database alone.
		px.serve(t, rot.Records)
		other := newCaller(t, env.Node(t), "acme")
		r = other.do(t, "GET", "/v1/domains/acme.example/check", nil)
		r.json(t, &rep)
		if countChecks(rep, "dkim", "info") != 2 || !strings.Contains(string(r.body), "no longer signs") {
			t.Fatalf("check after publishing: %s", r.body)
		}
		var after wire.Domain
		acme.do(t, "GET", "/v1/domains/acme.example", nil).json(t, &after)
		newSel := activeSelector(t, after)
		if newSel != rot.DKIM[0].Selector && newSel != rot.DKIM[1].Selector || after.DKIM[2].Status != "retired" {
			t.Fatalf("after the switch: %+v", after.DKIM)
		}
		// Both nodes' send workers take jobs: every message is signed with
		// the new keys, whichever node sent it.
		before := len(rl.messages())
		for i := range 4 {
			e3 := sendOK(t, acme, fmt.Sprintf(`{"from":"hello@acme.example","to":"bo@x.example","subject":"After %d","text":"a"}`, i))
			waitStatus(t, acme, e3.ID, "sent")
		}
		for _, m := range rl.messages()[before:] {
			vs, err = dkim.VerifyWithOptions(bytes.NewReader(m.data), &dkim.VerifyOptions{LookupTXT: lookupTXT(px.addr)})
			if err != nil || len(vs) != 2 || vs[0].Err != nil || vs[1].Err != nil || !bytes.Contains(m.data, []byte("s="+newSel+";")) ||
				bytes.Contains(m.data, []byte("s="+oldSel+";")) {
				t.Fatalf("after the switch: %v %v\n%s", err, vs, m.data)
			}
		}
		if lines := env.ErrorLines(); len(lines) > 0 {
			t.Fatalf("errors logged: %v", lines)
		}
	}, smtpConfig(rl), func(cfg *config.Config) { cfg.DNSServer = px.addr })
}

func countChecks(rep wire.DomainCheck, check, status string) int {
	n := 0
	for _, c := range rep.Checks {
		if c.Check == check && c.Status == status {
			n++
		}
	}
	return n
}

func activeSelector(t *testing.T, d wire.Domain) string {
	t.Helper()
	for _, k := range d.DKIM {
		if k.Status == "active" && k.Algorithm == "rsa" {
			return k.Selector
		}
	}
	t.Fatalf("no active RSA key: %+v", d.DKIM)
	return ""
}
