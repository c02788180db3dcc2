package doctor

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/joist-dev/joist/wire"
)

// Providers a domain sends through; each needs its own records.
const (
	ProviderSMTP     = "smtp"     // joist signs (DKIM) and relays over SMTP
	ProviderResend   = "resend"   // Resend signs and sends; its records sit on send.<domain>
	ProviderPostmark = "postmark" // Postmark signs and sends; Return-Path on pm-bounces.<domain>
)

// Checks, in the order a report lists them.
const (
	CheckSPF    = "spf"
	CheckDKIM   = "dkim"
	CheckDMARC  = "dmarc"
	CheckMX     = "mx"
	CheckMTASTS = "mta_sts"
	CheckTLSRPT = "tls_rpt"
)

var checkOrder = []string{CheckSPF, CheckDKIM, CheckDMARC, CheckMX, CheckMTASTS, CheckTLSRPT}

// Selector is a DKIM selector to check on the domain.
type Selector struct {
	// Name is the selector: the record is at <Name>._domainkey.<domain>.
	Name string
	// PublicKey is the key joist signs with under this selector
	// (*rsa.PublicKey or ed25519.PublicKey), to compare with the published
	// one; nil checks only that the published record is sound.
	PublicKey crypto.PublicKey
}

// Input is what to check.
type Input struct {
	// Domain is the sending domain (the From address's domain).
	Domain string
	// Provider is smtp (the default), resend or postmark.
	Provider string
	// Selectors are the DKIM selectors to check. With none, the DKIM check
	// is info ("no selector given"), except for Resend, whose selector is
	// always "resend".
	Selectors []Selector
	// SPFInclude is the host the SMTP relay's SPF record is at (as in
	// include:HOST); with smtp, the domain's SPF must include it.
	SPFInclude string
	// Resolver answers the DNS questions; nil uses the first nameserver of
	// /etc/resolv.conf.
	Resolver Resolver
}

// Report is the doctor's answer: the wire shape the API and the CLI print,
// and Err, which is not part of it.
type Report struct {
	wire.DomainCheck
	// Err says the checks could not all be made: the input was invalid (no
	// checks then) or a DNS lookup got no usable answer (the checks it
	// kept from being made are fail, naming the lookup; when the server
	// answered nothing at all, there are no checks). The CLI exits 2
	// on it.
	Err error `json:"-"`
}

// Failed says whether any check failed.
func (r Report) Failed() bool {
	return slices.ContainsFunc(r.Checks, func(c wire.DomainCheckItem) bool { return c.Status == wire.CheckFail })
}

// ValidDomain returns name lower-cased without a final dot, or an error
// saying why it is not a domain one can send from.
func ValidDomain(name string) (string, error) {
	d := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(name), "."))
	if d == "" {
		return "", errors.New("domain is empty")
	}
	if _, ok := dns.IsDomainName(d); !ok || !strings.Contains(d, ".") || strings.ContainsAny(d, " @/:*\\\"") {
		return "", fmt.Errorf("%q is not a domain name (want e.g. mail.example.com)", name)
	}
	return d, nil
}

// ValidProvider says whether p names a provider the doctor knows ("" is smtp).
func ValidProvider(p string) bool {
	return p == "" || p == ProviderSMTP || p == ProviderResend || p == ProviderPostmark
}

// Check reads the domain's DNS and reports on every check. It never
// returns early on a broken record: a report lists everything to fix.
func Check(ctx context.Context, in Input) Report {
	d, err := ValidDomain(in.Domain)
	if err != nil {
		return Report{DomainCheck: wire.DomainCheck{Domain: in.Domain, Checks: []wire.DomainCheckItem{}}, Err: err}
	}
	if !ValidProvider(in.Provider) {
		return Report{DomainCheck: wire.DomainCheck{Domain: d, Checks: []wire.DomainCheckItem{}},
			Err: fmt.Errorf("provider %q: want smtp, resend or postmark", in.Provider)}
	}
	if in.Provider == "" {
		in.Provider = ProviderSMTP
	}
	r := in.Resolver
	if r == nil {
		if r, err = NewResolver(""); err != nil {
			return Report{DomainCheck: wire.DomainCheck{Domain: d, Checks: []wire.DomainCheckItem{}}, Err: err}
		}
	}
	c := &checker{in: in, domain: d, l: newLookups(r)}
	c.spf(ctx)
	c.dkim(ctx)
	c.dmarc(ctx)
	c.mx(ctx)
	c.mtaSTS(ctx)
	c.tlsRPT(ctx)
	switch in.Provider {
	case ProviderResend:
		c.resend(ctx)
	case ProviderPostmark:
		c.postmark(ctx)
	}
	if c.l.answered == 0 && c.l.dead != nil {
		// Not one answer: that is no verdict on the domain.
		return Report{DomainCheck: wire.DomainCheck{Domain: d, Checks: []wire.DomainCheckItem{}},
			Err: fmt.Errorf("the DNS server did not answer: %w", c.l.dead)}
	}
	slices.SortStableFunc(c.items, func(a, b wire.DomainCheckItem) int {
		return slices.Index(checkOrder, a.Check) - slices.Index(checkOrder, b.Check)
	})
	return Report{DomainCheck: wire.DomainCheck{Domain: d, Checks: c.items}, Err: c.l.first}
}

// checker holds one Check's state.
type checker struct {
	in     Input
	domain string
	l      *lookups
	items  []wire.DomainCheckItem
}

func (c *checker) add(check, status, message, fix string) {
	c.items = append(c.items, wire.DomainCheckItem{Check: check, Status: status, Message: message, Fix: fix})
}

// dnsFailed reports a lookup that got no usable answer as a failed check
// and says whether it did.
func (c *checker) dnsFailed(check string, a answer) bool {
	if a.err == nil {
		return false
	}
	if a.transport {
		c.add(check, wire.CheckFail, "could not check: the DNS server did not answer ("+a.err.Error()+")",
			"make sure the DNS server (JOIST_DNS_SERVER) is reachable and answers, then check again")
		return true
	}
	c.add(check, wire.CheckFail, "could not check: "+a.err.Error(),
		"make sure the domain's name servers answer (a SERVFAIL often means a broken DNSSEC chain or delegation), then check again")
	return true
}

// record formats a record to publish: TXT _dmarc.example.com "v=DMARC1; p=reject".
func record(typ, name, value string) string {
	if typ == "TXT" {
		value = `"` + value + `"`
	}
	return typ + " " + name + " " + value
}

// tags parses a tag=value list (DKIM, DMARC, MTA-STS, TLS-RPT records),
// keeping the order; names are lower-cased, values trimmed.
func tags(rec string) (names []string, values map[string]string) {
	values = map[string]string{}
	for _, part := range strings.Split(rec, ";") {
		k, v, ok := strings.Cut(part, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if !ok || k == "" {
			continue
		}
		if _, dup := values[k]; !dup {
			names = append(names, k)
		}
		values[k] = strings.TrimSpace(v)
	}
	return names, values
}
