package email

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/email/doctor"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// ErrDNSUnavailable means the domain check got no answer at all from the
// DNS server (JOIST_DNS_SERVER): that is no verdict on the domain.
var ErrDNSUnavailable = errors.New("the DNS server did not answer")

// CheckDomain runs the domain doctor on one of the tenant's domains, with
// its provider, SPF include, and (smtp) joist's selectors and public keys,
// asking JOIST_DNS_SERVER. A pending key (after a rotation) whose record
// the check finds published with that key starts signing here: it becomes
// active and the active key of its algorithm is retired, and the report
// says so (an info line of the dkim check).
func (s *Service) CheckDomain(ctx context.Context, a auth.Actor, tenantID, name string) (wire.DomainCheck, error) {
	d, err := s.GetDomain(ctx, a, tenantID, name)
	if err != nil {
		return wire.DomainCheck{}, err
	}
	r, err := doctor.NewResolver(s.opts.DNSServer)
	if err != nil {
		return wire.DomainCheck{}, fmt.Errorf("%w: %v", ErrDNSUnavailable, err)
	}
	in := doctor.Input{Domain: d.Name, Provider: d.Provider, SPFInclude: d.SPFInclude, Resolver: r}
	for _, k := range d.Keys {
		if k.Status == KeyRetired {
			continue
		}
		pub, err := k.publicKey()
		if err != nil {
			return wire.DomainCheck{}, fmt.Errorf("email: the key of selector %s: %w", k.Selector, err)
		}
		in.Selectors = append(in.Selectors, doctor.Selector{Name: k.Selector, PublicKey: pub})
	}
	rep := doctor.Check(ctx, in)
	if rep.Err != nil && len(rep.Checks) == 0 {
		return wire.DomainCheck{}, fmt.Errorf("%w: %v", ErrDNSUnavailable, rep.Err)
	}
	var notes []wire.DomainCheckItem
	for _, k := range d.Keys {
		if k.Status != KeyPending || !published(ctx, r, k.Selector+"._domainkey."+d.Name, k.PublicKey) {
			continue
		}
		retired, err := s.activate(ctx, a, tenantID, d, k)
		if err != nil {
			return wire.DomainCheck{}, err
		}
		msg := "selector " + k.Selector + " is published with joist's new key: it signs the domain's mail from now on"
		fix := ""
		if len(retired) > 0 {
			msg += "; " + strings.Join(retired, ", ") + " no longer signs"
			fix = "keep the record of " + strings.Join(retired, ", ") + " a few days for mail still on its way, then delete it"
		}
		notes = append(notes, wire.DomainCheckItem{Check: doctor.CheckDKIM, Status: wire.CheckInfo, Message: msg, Fix: fix})
	}
	if len(notes) > 0 {
		// After the dkim lines, keeping the report's order.
		at := len(rep.Checks)
		for i, c := range rep.Checks {
			if c.Check == doctor.CheckDKIM {
				at = i + 1
			}
		}
		rep.Checks = slices.Insert(rep.Checks, at, notes...)
	}
	return rep.DomainCheck, nil
}

// activate makes pending key k sign and retires the active keys of its
// algorithm, unless another check did it first. It returns the retired
// selectors.
func (s *Service) activate(ctx context.Context, a auth.Actor, tenantID string, d Domain, k DKIMKey) ([]string, error) {
	now := s.now()
	var retired []string
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		q := scope{tx.Tenant(tenantID)}
		cur, err := q.domainGet(ctx, d.Name)
		if err != nil {
			return err
		}
		still := slices.ContainsFunc(cur.Keys, func(c DKIMKey) bool { return c.ID == k.ID && c.Status == KeyPending })
		if !still {
			return nil
		}
		for _, c := range cur.Keys {
			if c.Status == KeyActive && c.Algorithm == k.Algorithm {
				if err := q.keySetStatus(ctx, c.ID, KeyRetired, now); err != nil {
					return err
				}
				retired = append(retired, c.Selector)
			}
		}
		if err := q.keySetStatus(ctx, k.ID, KeyActive, now); err != nil {
			return err
		}
		if err := q.domainTouch(ctx, cur.ID, now); err != nil {
			return err
		}
		return s.core.Audit(ctx, tx, a, tenantID, "email_domain.activate_dkim", "email_domain", cur.ID,
			map[string]any{"selector": k.Selector, "retired": retired})
	})
	return retired, err
}

// published says whether the one DKIM record at name holds the key whose
// p= is p. Any doubt (no answer, several records, another key) is no.
func published(ctx context.Context, r doctor.Resolver, name, p string) bool {
	m, err := r.Exchange(ctx, name, dns.TypeTXT)
	if err != nil || m.Rcode != dns.RcodeSuccess {
		return false
	}
	var found []string
	for _, rr := range m.Answer {
		t, ok := rr.(*dns.TXT)
		if !ok {
			continue
		}
		for _, part := range strings.Split(strings.Join(t.Txt, ""), ";") {
			k, v, _ := strings.Cut(part, "=")
			if strings.EqualFold(strings.TrimSpace(k), "p") {
				found = append(found, strings.Join(strings.Fields(v), ""))
			}
		}
	}
	return len(found) == 1 && found[0] == p
}
