package doctor

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/joist-dev/joist/wire"
)

// dmarcAt returns the DMARC records at name (those starting v=DMARC1) and
// the TXT records that name v=DMARC1 elsewhere (receivers ignore those).
func (c *checker) dmarcAt(ctx context.Context, name string) (recs, misplaced []string, a answer) {
	txts, a := c.l.txt(ctx, name)
	for _, t := range txts {
		names, v := tags(t)
		switch {
		case len(names) > 0 && names[0] == "v" && strings.EqualFold(v["v"], "DMARC1"):
			recs = append(recs, t)
		case strings.Contains(strings.ToLower(t), "v=dmarc1"):
			misplaced = append(misplaced, t)
		}
	}
	return recs, misplaced, a
}

// dmarc checks the DMARC record that applies to the domain: its own, else
// its organizational domain's (RFC 7489 6.6.3, with the Public Suffix List).
func (c *checker) dmarc(ctx context.Context) {
	name := "_dmarc." + c.domain
	recs, misplaced, a := c.dmarcAt(ctx, name)
	if c.dnsFailed(CheckDMARC, a) {
		return
	}
	at, org := name, ""
	if len(recs) == 0 && len(misplaced) == 0 {
		if o, err := publicsuffix.EffectiveTLDPlusOne(c.domain); err == nil && o != c.domain {
			orecs, omis, oa := c.dmarcAt(ctx, "_dmarc."+o)
			if c.dnsFailed(CheckDMARC, oa) {
				return
			}
			if len(orecs) > 0 || len(omis) > 0 {
				recs, misplaced, at, org = orecs, omis, "_dmarc."+o, o
			}
		}
	}
	reportTo := "dmarc-reports@" + c.domain
	if org != "" {
		reportTo = "dmarc-reports@" + org
	}
	if len(recs) == 0 && len(misplaced) > 0 {
		_, v := tags(misplaced[0])
		fixed := "v=DMARC1; " + dropTag(misplaced[0], "v")
		if v["p"] == "" {
			fixed = setTag(fixed, "p", "none")
		}
		c.add(CheckDMARC, wire.CheckFail, "the TXT record at "+at+" is ignored: v=DMARC1 must be its first tag",
			"replace it with "+record("TXT", at, fixed))
		return
	}
	if len(recs) == 0 {
		msg := "no DMARC record at " + name
		if o, err := publicsuffix.EffectiveTLDPlusOne(c.domain); err == nil && o != c.domain {
			msg += " nor at _dmarc." + o
		}
		c.add(CheckDMARC, wire.CheckFail, msg+": Gmail and Yahoo require one of bulk senders, and nobody reports to you who sends as "+c.domain,
			"publish "+record("TXT", name, "v=DMARC1; p=none; rua=mailto:"+reportTo)+
				", then move to p=quarantine once the reports show all your mail passing")
		return
	}
	if len(recs) > 1 {
		c.add(CheckDMARC, wire.CheckFail, fmt.Sprintf("%d DMARC records at %s: receivers ignore them all", len(recs), at),
			"keep one: "+record("TXT", at, recs[0]))
		return
	}
	rec := recs[0]
	_, v := tags(rec)
	where := "the DMARC record at " + at
	if org != "" {
		where += " (the organizational domain's, which applies to " + c.domain + ")"
	}
	policyTag := "p"
	if org != "" && v["sp"] != "" {
		policyTag = "sp" // a subdomain takes sp= when the organizational domain has one
	}
	p := strings.ToLower(v[policyTag])
	failed := false
	switch p {
	case "quarantine", "reject":
	case "none":
		c.add(CheckDMARC, wire.CheckWarn, where+" has "+policyTag+"=none: receivers deliver mail that fails DMARC, so anyone can send as "+c.domain,
			"once the reports show your own mail passing, replace it with "+record("TXT", at, setTag(rec, policyTag, "quarantine"))+" (later p=reject)")
	case "":
		failed = true
		c.add(CheckDMARC, wire.CheckFail, where+" has no p= tag, so it is invalid", "replace it with "+record("TXT", at, setTag(rec, "p", "none")))
	default:
		failed = true
		c.add(CheckDMARC, wire.CheckFail, where+" has "+policyTag+"="+v[policyTag]+", which is not none, quarantine or reject",
			"replace it with "+record("TXT", at, setTag(rec, policyTag, "quarantine")))
	}
	if rua := v["rua"]; rua == "" {
		c.add(CheckDMARC, wire.CheckWarn, where+" has no rua=: nobody receives the aggregate reports that show what fails and who sends as "+c.domain,
			"replace it with "+record("TXT", at, setTag(rec, "rua", "mailto:"+reportTo)))
	} else if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(rua)), "mailto:") {
		c.add(CheckDMARC, wire.CheckWarn, where+" has rua="+rua+": reports are sent only to mailto: addresses",
			"replace it with "+record("TXT", at, setTag(rec, "rua", "mailto:"+reportTo)))
	}
	if pct, ok := v["pct"]; ok {
		n, err := strconv.Atoi(pct)
		if err != nil || n < 0 || n > 100 {
			c.add(CheckDMARC, wire.CheckWarn, where+" has pct="+pct+", which is not a number from 0 to 100", "replace it with "+record("TXT", at, dropTag(rec, "pct")))
		} else if n < 100 && p != "none" {
			c.add(CheckDMARC, wire.CheckWarn, fmt.Sprintf("%s has pct=%d: the policy applies to only %d%% of failing mail", where, n, n),
				"replace it with "+record("TXT", at, dropTag(rec, "pct")))
		}
	}
	if !failed {
		c.add(CheckDMARC, wire.CheckPass, fmt.Sprintf("DMARC record at %s: %s", at, rec), "")
	}
	c.alignment(at, rec, v)
}

// alignment notes the alignment modes, and warns when the provider's
// Return-Path cannot align strictly.
func (c *checker) alignment(at, rec string, v map[string]string) {
	mode := func(tag string) string {
		if strings.EqualFold(v[tag], "s") {
			return "strict"
		}
		return "relaxed"
	}
	org, err := publicsuffix.EffectiveTLDPlusOne(c.domain)
	if err != nil {
		org = c.domain
	}
	says := func(auth, tag, what string) string {
		if mode(tag) == "strict" {
			return fmt.Sprintf("%s strict (%s=s: %s must be exactly %s)", auth, tag, what, c.domain)
		}
		return fmt.Sprintf("%s relaxed (%s=r: %s may be any name under %s)", auth, tag, what, org)
	}
	c.add(CheckDMARC, wire.CheckInfo, "alignment with the From domain: "+says("DKIM", "adkim", "the signature's d=")+"; "+says("SPF", "aspf", "the Return-Path domain"), "")
	rp := map[string]string{ProviderResend: "send." + c.domain, ProviderPostmark: "pm-bounces." + c.domain}[c.in.Provider]
	if rp != "" && mode("aspf") == "strict" {
		c.add(CheckDMARC, wire.CheckWarn, "aspf=s: "+c.in.Provider+" sends with the Return-Path "+rp+", which never aligns strictly with "+c.domain+", so DMARC rests on DKIM alone",
			"replace it with "+record("TXT", at, dropTag(rec, "aspf")))
	}
}

// setTag sets a tag of a tag=value record, in place or appended.
func setTag(rec, tag, value string) string {
	var parts []string
	found := false
	for _, part := range strings.Split(rec, ";") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, _, _ := strings.Cut(part, "=")
		if strings.EqualFold(strings.TrimSpace(k), tag) {
			part, found = tag+"="+value, true
		}
		parts = append(parts, strings.TrimSpace(part))
	}
	if !found {
		parts = append(parts, tag+"="+value)
	}
	return strings.Join(parts, "; ")
}
