// Package doctor is the domain doctor: it reads a sending domain's DNS and
// says, record by record, what is right, what hurts deliverability and
// exactly what to publish instead. It checks SPF (one record, at most 10
// DNS-querying terms through nested includes, at most 2 void lookups, the
// all qualifier), DKIM (the record for each selector, against the key
// joist signs with when it has one), DMARC, MX, MTA-STS and TLS-RPT, and
// the records Resend or Postmark require when one of them sends.
//
// It needs no database and no server: the email system calls Check for
// GET /v1/domains/{domain}/check, and 'joist domain check' calls it from
// the command line. Both print the same wire.DomainCheck:
//
//	r, err := doctor.NewResolver(cfg.DNSServer) // JOIST_DNS_SERVER; "" is /etc/resolv.conf
//	rep := doctor.Check(ctx, doctor.Input{
//		Domain: d.Name, Provider: d.Provider, Resolver: r,
//		Selectors: []doctor.Selector{{Name: d.Selector, PublicKey: key.Public()}},
//	})
//	// rep.DomainCheck is the response body; rep.Err, when there are no
//	// checks, is an error to answer instead (bad input, DNS unreachable).
//
// Package doctortest serves crafted zones for tests of code that calls
// Check.
//
// DNS is queried directly (github.com/miekg/dns) rather than through
// net.Resolver, because the checks need what net.Resolver hides: telling
// NXDOMAIN and an empty answer (a void lookup) from a server failure, and
// asking one given server (JOIST_DNS_SERVER) without touching the
// process's resolver.
package doctor
