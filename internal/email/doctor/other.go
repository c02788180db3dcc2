package doctor

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/joist-dev/joist/wire"
)

// mx checks that the domain can receive mail: replies and bounces go to
// it, and some receivers refuse mail from a domain that cannot receive.
func (c *checker) mx(ctx context.Context) {
	a := c.l.get(ctx, c.domain, dns.TypeMX)
	if c.dnsFailed(CheckMX, a) {
		return
	}
	var hosts []string
	null := false
	for _, rr := range ofType(a.rrs, dns.TypeMX) {
		mx := rr.(*dns.MX)
		if mx.Mx == "." {
			null = true
			continue
		}
		hosts = append(hosts, fmt.Sprintf("%d %s", mx.Preference, strings.TrimSuffix(mx.Mx, ".")))
	}
	slices.Sort(hosts)
	switch {
	case null && len(hosts) == 0:
		c.add(CheckMX, wire.CheckInfo, c.domain+" publishes a null MX (RFC 7505): it receives no mail, so replies and bounces to its addresses are refused",
			"if replies should reach you, set a reply_to on another domain, or replace it with the MX records of your mailbox provider")
	case len(hosts) == 0:
		c.add(CheckMX, wire.CheckWarn, "no MX record at "+c.domain+": replies and bounces to its addresses cannot be delivered, and some receivers distrust mail from a domain that cannot receive",
			"publish the MX records of the mailbox provider that receives "+c.domain+"'s mail (MX "+c.domain+" 10 <its mail host>), or set a reply_to on a domain that receives")
	default:
		c.add(CheckMX, wire.CheckPass, "MX at "+c.domain+": "+strings.Join(hosts, ", "), "")
	}
}

// taggedTXT returns the TXT records at name whose first tag is v=version.
func (c *checker) taggedTXT(ctx context.Context, name, version string) ([]string, answer) {
	txts, a := c.l.txt(ctx, name)
	var out []string
	for _, t := range txts {
		if names, v := tags(t); len(names) > 0 && names[0] == "v" && strings.EqualFold(v["v"], version) {
			out = append(out, t)
		}
	}
	return out, a
}

// stsID is an MTA-STS policy id (RFC 8461 3.1).
var stsID = regexp.MustCompile(`^[A-Za-z0-9]{1,32}$`)

// mtaSTS notes whether the domain asks senders to require TLS (RFC 8461).
func (c *checker) mtaSTS(ctx context.Context) {
	name := "_mta-sts." + c.domain
	recs, a := c.taggedTXT(ctx, name, "STSv1")
	if c.dnsFailed(CheckMTASTS, a) {
		return
	}
	policy := "https://mta-sts." + c.domain + "/.well-known/mta-sts.txt"
	switch {
	case len(recs) == 0:
		c.add(CheckMTASTS, wire.CheckInfo, "no MTA-STS record at "+name+": senders deliver to "+c.domain+" over TLS only when it is offered, and fall back to plain text under attack",
			"to require TLS: serve a policy at "+policy+" and publish "+record("TXT", name, "v=STSv1; id=20250101T000000"))
	case len(recs) > 1:
		c.add(CheckMTASTS, wire.CheckWarn, fmt.Sprintf("%d MTA-STS records at %s: senders ignore them all", len(recs), name), "keep one: "+record("TXT", name, recs[0]))
	default:
		if _, v := tags(recs[0]); v["id"] == "" || !stsID.MatchString(v["id"]) {
			c.add(CheckMTASTS, wire.CheckWarn, "the MTA-STS record at "+name+" needs an id= of 1 to 32 letters and digits, changed whenever the policy changes",
				"replace it with "+record("TXT", name, setTag(recs[0], "id", "20250101T000000")))
			return
		}
		c.add(CheckMTASTS, wire.CheckInfo, "MTA-STS announced at "+name+" ("+recs[0]+"); the policy itself, at "+policy+", was not fetched", "")
	}
}

// tlsRPT notes whether the domain receives TLS failure reports (RFC 8460).
func (c *checker) tlsRPT(ctx context.Context) {
	name := "_smtp._tls." + c.domain
	recs, a := c.taggedTXT(ctx, name, "TLSRPTv1")
	if c.dnsFailed(CheckTLSRPT, a) {
		return
	}
	switch {
	case len(recs) == 0:
		c.add(CheckTLSRPT, wire.CheckInfo, "no TLS-RPT record at "+name+": senders that fail to deliver to "+c.domain+" over TLS do not tell you",
			"to receive their reports: publish "+record("TXT", name, "v=TLSRPTv1; rua=mailto:tls-reports@"+c.domain))
	case len(recs) > 1:
		c.add(CheckTLSRPT, wire.CheckWarn, fmt.Sprintf("%d TLS-RPT records at %s: senders ignore them all", len(recs), name), "keep one: "+record("TXT", name, recs[0]))
	default:
		if _, v := tags(recs[0]); v["rua"] == "" {
			c.add(CheckTLSRPT, wire.CheckWarn, "the TLS-RPT record at "+name+" has no rua=, so reports go nowhere",
				"replace it with "+record("TXT", name, setTag(recs[0], "rua", "mailto:tls-reports@"+c.domain)))
			return
		}
		c.add(CheckTLSRPT, wire.CheckInfo, "TLS-RPT reports requested at "+name+" ("+recs[0]+")", "")
	}
}

// resendMX matches the bounce MX Resend asks for: Amazon SES's feedback
// host in the domain's region (us-east-1, eu-west-1, sa-east-1,
// ap-northeast-1, ...).
var resendMX = regexp.MustCompile(`^feedback-smtp\.[a-z0-9-]+\.amazonses\.com\.?$`)

// resend checks the records Resend requires besides DKIM (resend._domainkey,
// checked with the other selectors). From Resend's documentation (its
// domain guides, e.g. resend.com/docs/knowledge-base/cloudflare, and "How do
// I avoid conflicting with my MX records?") and the records its domains API
// returns: on send.<domain>, the Return-Path Resend sends with, an MX
// "10 feedback-smtp.<region>.amazonses.com" for bounces and complaints, the
// only MX there, and a TXT "v=spf1 include:amazonses.com ~all".
func (c *checker) resend(ctx context.Context) {
	send := "send." + c.domain
	a := c.l.get(ctx, send, dns.TypeMX)
	if !c.dnsFailed(CheckMX, a) {
		var ours, others []string
		for _, rr := range ofType(a.rrs, dns.TypeMX) {
			mx := rr.(*dns.MX)
			h := fmt.Sprintf("%d %s", mx.Preference, strings.TrimSuffix(mx.Mx, "."))
			if resendMX.MatchString(strings.ToLower(mx.Mx)) {
				ours = append(ours, h)
			} else {
				others = append(others, h)
			}
		}
		want := "publish " + record("MX", send, "10 feedback-smtp.us-east-1.amazonses.com") + " (with the region Resend shows for the domain in place of us-east-1)"
		switch {
		case len(ours) == 0:
			c.add(CheckMX, wire.CheckFail, "Resend: no MX record at "+send+" pointing to feedback-smtp.<region>.amazonses.com: Resend cannot verify the domain, and bounces and complaints never reach it", want)
		case len(others) > 0:
			c.add(CheckMX, wire.CheckFail, "Resend: "+send+" has other MX records ("+strings.Join(others, ", ")+") beside Resend's: bounces may go astray and Resend does not verify the domain",
				"remove them, keeping "+record("MX", send, ours[0]))
		default:
			c.add(CheckMX, wire.CheckPass, "Resend: MX at "+send+": "+strings.Join(ours, ", "), "")
		}
	}
	c.checkSPF(ctx, send, spfOpts{label: "Resend: ", include: "amazonses.com", whose: "Resend (Amazon SES)",
		missing: wire.CheckFail, proposal: "v=spf1 include:amazonses.com ~all"})
}

// postmark checks the Return-Path Postmark sends with. From Postmark's
// documentation ("How do I manage domains using the API?" and its custom
// Return-Path articles on postmarkapp.com): a CNAME pm-bounces.<domain> ->
// pm.mtasv.net. Without it mail still goes out (with Postmark's own
// Return-Path) and DMARC rests on DKIM alone, hence a warning, not a
// failure. Postmark's DKIM record is TXT at <selector>._domainkey.<domain>,
// the selector named by Postmark (like 20240101123456pm), checked with the
// other selectors.
func (c *checker) postmark(ctx context.Context) {
	name := "pm-bounces." + c.domain
	a := c.l.get(ctx, name, dns.TypeCNAME)
	if c.dnsFailed(CheckSPF, a) {
		return
	}
	want := record("CNAME", name, "pm.mtasv.net")
	cn := ofType(a.rrs, dns.TypeCNAME)
	switch {
	case len(cn) == 0:
		c.add(CheckSPF, wire.CheckWarn, "Postmark: no CNAME at "+name+": Postmark sends with its own Return-Path, so SPF never aligns with "+c.domain+" and DMARC rests on DKIM alone",
			"publish "+want+", then set "+name+" as the domain's Return-Path in Postmark")
	case !strings.EqualFold(strings.TrimSuffix(cn[0].(*dns.CNAME).Target, "."), "pm.mtasv.net"):
		c.add(CheckSPF, wire.CheckFail, "Postmark: "+name+" is a CNAME to "+strings.TrimSuffix(cn[0].(*dns.CNAME).Target, ".")+", not pm.mtasv.net: bounces go astray and SPF fails",
			"replace it with "+want)
	default:
		c.add(CheckSPF, wire.CheckPass, "Postmark: Return-Path "+name+" is a CNAME to pm.mtasv.net", "")
	}
}
