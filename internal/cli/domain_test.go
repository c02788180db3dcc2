package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/email/doctor/doctortest"
	"github.com/joist-dev/joist/wire"
)

func TestDomainCheck(t *testing.T) {
	z := doctortest.NewZone()
	z.TXT("_spf.relay.example", "v=spf1 ip4:192.0.2.0/24 -all")
	for _, d := range []string{"good.example", "nodmarc.example", "broken.example"} {
		z.RR(t, d+". 300 IN MX 10 mx."+d+".")
		z.TXT(d, "v=spf1 include:_spf.relay.example ~all")
	}
	z.TXT("_dmarc.good.example", "v=DMARC1; p=reject; rua=mailto:d@good.example")
	z.TXT("s1._domainkey.good.example", "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
	z.ServFail("_dmarc.broken.example")
	addr := z.Serve(t)

	run := func(env map[string]string, args ...string) (int, string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		code := Run(context.Background(), args, strings.NewReader(""), &out, &errb, func(k string) string { return env[k] })
		return code, out.String(), errb.String()
	}
	dns := map[string]string{"JOIST_DNS_SERVER": addr}

	t.Run("good domain exits 0", func(t *testing.T) {
		code, out, errs := run(dns, "domain", "check", "good.example", "--spf-include", "_spf.relay.example")
		if code != 0 {
			t.Fatalf("exit %d\n%s%s", code, out, errs)
		}
		for _, s := range []string{"good.example (provider smtp, DNS server " + addr, "PASS  spf", "PASS  dmarc", "INFO  dkim     no selector given", "0 fail"} {
			if !strings.Contains(out, s) {
				t.Errorf("output lacks %q:\n%s", s, out)
			}
		}
	})

	t.Run("--json parses into the wire type", func(t *testing.T) {
		// --dns wins over JOIST_DNS_SERVER; flags may come before the name;
		// --selector repeats.
		code, out, errs := run(map[string]string{"JOIST_DNS_SERVER": "127.0.0.1:9"}, "domain", "check", "--dns", addr, "--json",
			"--selector", "s1", "--selector", "s2", "good.example")
		if code != 1 { // s2 has no record
			t.Fatalf("exit %d\n%s%s", code, out, errs)
		}
		var r wire.DomainCheck
		dec := json.NewDecoder(strings.NewReader(out))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("%v:\n%s", err, out)
		}
		var dkim []string
		for _, c := range r.Checks {
			if c.Check == "dkim" {
				dkim = append(dkim, c.Status+" "+c.Message)
			}
		}
		if r.Domain != "good.example" || len(dkim) != 2 || !strings.HasPrefix(dkim[0], "pass DKIM record at s1._domainkey.good.example: Ed25519") ||
			!strings.HasPrefix(dkim[1], "fail no DKIM record at s2._domainkey.good.example") {
			t.Fatalf("report: %s\n%s", dkim, out)
		}
	})

	t.Run("a failing check exits 1", func(t *testing.T) {
		code, out, _ := run(dns, "domain", "check", "nodmarc.example")
		if code != 1 || !strings.Contains(out, "FAIL  dmarc    no DMARC record at _dmarc.nodmarc.example") ||
			!strings.Contains(out, `fix: publish TXT _dmarc.nodmarc.example "v=DMARC1; p=none; rua=mailto:dmarc-reports@nodmarc.example"`) {
			t.Fatalf("exit %d\n%s", code, out)
		}
	})

	t.Run("a DNS error exits 2", func(t *testing.T) {
		code, out, errs := run(dns, "domain", "check", "broken.example", "--json")
		if code != 2 || !strings.Contains(errs, "SERVFAIL") {
			t.Fatalf("exit %d\n%s%s", code, out, errs)
		}
		var r wire.DomainCheck
		if err := json.Unmarshal([]byte(out), &r); err != nil || len(r.Checks) == 0 {
			t.Fatalf("the report is still printed: %v\n%s", err, out)
		}
		code, _, errs = run(nil, "domain", "check", "good.example", "--dns", "127.0.0.1:9")
		if code != 2 || !strings.Contains(errs, "did not answer") {
			t.Fatalf("unreachable server: exit %d\n%s", code, errs)
		}
	})

	t.Run("usage errors exit 2", func(t *testing.T) {
		for _, args := range [][]string{
			{"domain"},
			{"domain", "verify", "good.example"},
			{"domain", "check"},
			{"domain", "check", "a.example", "b.example"},
			{"domain", "check", "not a domain"},
			{"domain", "check", "good.example", "--provider", "mailgun"},
			{"domain", "check", "good.example", "--no-such-flag"},
			{"domain", "check", "good.example", "--dns", "::1::"},
		} {
			if code, out, errs := run(dns, args...); code != 2 || errs == "" {
				t.Errorf("%q: exit %d\n%s%s", args, code, out, errs)
			}
		}
	})

	t.Run("--help exits 0", func(t *testing.T) {
		for _, args := range [][]string{{"domain", "--help"}, {"domain", "check", "--help"}, {"domain", "check", "-h"}} {
			code, out, _ := run(nil, args...)
			if code != 0 || !strings.Contains(out, "joist domain check NAME") || !strings.Contains(out, "Exit status") {
				t.Errorf("%q: exit %d\n%s", args, code, out)
			}
		}
		if _, out, _ := run(nil, "--help"); !strings.Contains(out, "joist domain check NAME") {
			t.Errorf("joist --help does not list domain check:\n%s", out)
		}
	})
}
