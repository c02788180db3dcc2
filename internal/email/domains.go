package email

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/email/doctor"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// Algorithms of DKIM keys.
const (
	AlgRSA     = "rsa"     // RSA 2048-bit, rsa-sha256: every verifier knows it
	AlgEd25519 = "ed25519" // ed25519-sha256 (RFC 8463): optional, beside the RSA key
)

// rsaBits is the size of joist's RSA keys: 2048 bits is what receivers expect.
const rsaBits = 2048

// DomainInput is a new sending domain.
type DomainInput struct {
	Name       string
	Provider   string // smtp (default), resend or postmark
	Ed25519    bool   // an Ed25519 key beside the RSA one (smtp only)
	SPFInclude string // the SMTP relay's SPF host
}

// CreateDomain adds a sending domain to tenantID (the instance's tenant for
// the root key without Joist-Tenant). With the smtp provider joist signs,
// so it generates the DKIM keys (active at once: mail is signed as soon as
// the records are published). A name another owner holds is 409.
func (s *Service) CreateDomain(ctx context.Context, a auth.Actor, tenantID string, in DomainInput) (Domain, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermKeysManage); err != nil {
		return Domain{}, err
	}
	name, err := doctor.ValidDomain(in.Name)
	if err != nil {
		return Domain{}, invalidf("name", "invalid_domain", "%v", err)
	}
	if !doctor.ValidProvider(in.Provider) {
		return Domain{}, invalidf("provider", "invalid_provider", "%q must be smtp, resend or postmark", in.Provider)
	}
	if in.Provider == "" {
		in.Provider = doctor.ProviderSMTP
	}
	if in.Ed25519 && in.Provider != doctor.ProviderSMTP {
		return Domain{}, invalidf("ed25519", "invalid_dkim", "an Ed25519 key is for the smtp provider, where joist signs; %s signs with its own keys", in.Provider)
	}
	if in.SPFInclude != "" {
		inc, err := doctor.ValidDomain(in.SPFInclude)
		if err != nil {
			return Domain{}, invalidf("spf_include", "invalid_spf_include", "%v", err)
		}
		in.SPFInclude = inc
	}
	now := s.now()
	d := Domain{ID: store.NewID("dom_"), TenantID: tenantID, Name: name, Provider: in.Provider, SPFInclude: in.SPFInclude,
		CreatedAt: now, UpdatedAt: now}
	if in.Provider == doctor.ProviderSMTP {
		if d.Keys, err = s.newKeys(selectorFor(now, nil), in.Ed25519, KeyActive, now); err != nil {
			return Domain{}, err
		}
	}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		if err := (scope{tx.Tenant(tenantID)}).domainInsert(ctx, d); err != nil {
			return err
		}
		return s.core.Audit(ctx, tx, a, tenantID, "email_domain.create", "email_domain", d.ID,
			map[string]any{"after": map[string]any{"name": name, "provider": in.Provider, "keys": len(d.Keys)}})
	})
	if errors.Is(err, store.ErrConflict) {
		// One owner per name; which owner is not said (it may be another tenant).
		return Domain{}, core.Conflict("domain_taken", "", "domain %q is already registered", name)
	}
	return d, err
}

// selectorFor names a new generation of keys after the day it is made
// (joist20250314), with a letter when the domain already has that one.
func selectorFor(now time.Time, keys []DKIMKey) string {
	base := "joist" + now.UTC().Format("20060102")
	taken := func(sel string) bool {
		for _, k := range keys {
			if k.Selector == sel || k.Selector == sel+"-ed" {
				return true
			}
		}
		return false
	}
	sel := base
	for c := 'b'; taken(sel) && c <= 'z'; c++ {
		sel = base + string(c)
	}
	return sel
}

// newKeys generates a generation of keys: RSA under sel, and Ed25519
// under sel-ed when asked, their private halves sealed.
func (s *Service) newKeys(sel string, withEd25519 bool, status string, now time.Time) ([]DKIMKey, error) {
	if s.opts.Box == nil {
		return nil, errors.New("email: no secret box to seal DKIM keys with")
	}
	rk, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return nil, err
	}
	signers := []struct {
		sel, alg string
		key      crypto.Signer
	}{{sel, AlgRSA, rk}}
	if withEd25519 {
		_, ek, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		signers = append(signers, struct {
			sel, alg string
			key      crypto.Signer
		}{sel + "-ed", AlgEd25519, ek})
	}
	var out []DKIMKey
	for _, sg := range signers {
		der, err := x509.MarshalPKCS8PrivateKey(sg.key)
		if err != nil {
			return nil, err
		}
		p, err := dkimP(sg.key.Public())
		if err != nil {
			return nil, err
		}
		k := DKIMKey{ID: store.NewID("dk_"), Selector: sg.sel, Algorithm: sg.alg, PublicKey: p, PrivateKey: s.opts.Box.Seal(der),
			Status: status, CreatedAt: now}
		if status == KeyActive {
			k.ActivatedAt = &now
		}
		out = append(out, k)
	}
	return out, nil
}

// dkimP is the p= of a public key's DKIM record.
func dkimP(pub crypto.PublicKey) (string, error) {
	v, err := doctor.DKIMRecordValue(pub)
	if err != nil {
		return "", err
	}
	_, p, _ := strings.Cut(v, "p=")
	return p, nil
}

// publicKey decodes a stored key's p= back into a public key.
func (k DKIMKey) publicKey() (crypto.PublicKey, error) {
	raw, err := base64.StdEncoding.DecodeString(k.PublicKey)
	if err != nil {
		return nil, err
	}
	if k.Algorithm == AlgEd25519 {
		return ed25519.PublicKey(raw), nil
	}
	return x509.ParsePKIXPublicKey(raw)
}

// recordValue is the TXT value to publish for the key.
func (k DKIMKey) recordValue() string { return "v=DKIM1; k=" + k.Algorithm + "; p=" + k.PublicKey }

// GetDomain returns one of the tenant's domains.
func (s *Service) GetDomain(ctx context.Context, a auth.Actor, tenantID, name string) (Domain, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return Domain{}, err
	}
	var d Domain
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		d, err = scope{tx.Tenant(tenantID)}.domainGet(ctx, strings.ToLower(name))
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return Domain{}, core.NotFound("domain %q not found", name)
	}
	return d, err
}

// ListDomains lists the tenant's own domains (not the instance's).
func (s *Service) ListDomains(ctx context.Context, a auth.Actor, tenantID string) ([]Domain, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return nil, err
	}
	var out []Domain
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = scope{tx.Tenant(tenantID)}.domainList(ctx)
		return err
	})
	return out, err
}

// DeleteDomain deletes one of the tenant's domains and its keys: its mail
// is no longer signed, and with a real provider no longer accepted.
func (s *Service) DeleteDomain(ctx context.Context, a auth.Actor, tenantID, name string) error {
	if err := s.core.TenantAccess(a, tenantID, auth.PermKeysManage); err != nil {
		return err
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		q := scope{tx.Tenant(tenantID)}
		d, err := q.domainGet(ctx, strings.ToLower(name))
		if err != nil {
			return err
		}
		if err := q.domainDelete(ctx, d.ID); err != nil {
			return err
		}
		return s.core.Audit(ctx, tx, a, tenantID, "email_domain.delete", "email_domain", d.ID, map[string]any{"name": d.Name})
	})
	if errors.Is(err, store.ErrNotFound) {
		return core.NotFound("domain %q not found", name)
	}
	return err
}

// RotateDKIM generates a new generation of keys (the same algorithms as
// the active ones) under a new selector, pending: they are published beside
// the active keys and sign once the domain check sees their records.
// A rotation already pending is 409.
func (s *Service) RotateDKIM(ctx context.Context, a auth.Actor, tenantID, name string) (Domain, error) {
	d, err := s.GetDomain(ctx, a, tenantID, name)
	if err != nil {
		return Domain{}, err
	}
	if err := s.core.TenantAccess(a, tenantID, auth.PermKeysManage); err != nil {
		return Domain{}, err
	}
	if d.Provider != doctor.ProviderSMTP {
		return Domain{}, core.Invalid("not_signed_by_joist", "domain %q sends through %s, which signs with its own keys: rotate them there", d.Name, d.Provider)
	}
	withEd := false
	for _, k := range d.Keys {
		if k.Status == KeyPending {
			return Domain{}, core.Conflict("rotation_pending", "", "selector %s is already waiting to be published: publish its record and check the domain (GET /v1/domains/%s/check)", k.Selector, d.Name)
		}
		withEd = withEd || (k.Status == KeyActive && k.Algorithm == AlgEd25519)
	}
	now := s.now()
	keys, err := s.newKeys(selectorFor(now, d.Keys), withEd, KeyPending, now)
	if err != nil {
		return Domain{}, err
	}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		q := scope{tx.Tenant(tenantID)}
		cur, err := q.domainGet(ctx, d.Name)
		if err != nil {
			return err
		}
		for _, k := range cur.Keys {
			if k.Status == KeyPending { // a concurrent rotation won
				return core.Conflict("rotation_pending", "", "selector %s is already waiting to be published", k.Selector)
			}
		}
		for _, k := range keys {
			k.DomainID = cur.ID
			if err := q.keyInsert(ctx, k); err != nil {
				return err
			}
		}
		if err := q.domainTouch(ctx, cur.ID, now); err != nil {
			return err
		}
		if d, err = q.domainGet(ctx, d.Name); err != nil {
			return err
		}
		return s.core.Audit(ctx, tx, a, tenantID, "email_domain.rotate_dkim", "email_domain", d.ID,
			map[string]any{"selector": keys[0].Selector})
	})
	if errors.Is(err, store.ErrNotFound) {
		return Domain{}, core.NotFound("domain %q not found", name)
	}
	return d, err
}

// Records are the DNS records to publish for d: joist's DKIM keys (active
// and pending), or the provider's records, then SPF and DMARC suggestions.
func Records(d Domain) []wire.DomainRecord {
	var out []wire.DomainRecord
	switch d.Provider {
	case doctor.ProviderSMTP:
		for _, k := range d.Keys {
			if k.Status == KeyRetired {
				continue
			}
			purpose := fmt.Sprintf("DKIM: the public key joist signs with (selector %s, %s)", k.Selector, keyDesc(k.Algorithm))
			if k.Status == KeyPending {
				purpose += "; new after a rotation: publish it beside the current key, then check the domain, and signing switches to it"
			}
			out = append(out, txtRecord(k.Selector+"._domainkey."+d.Name, k.recordValue(), purpose))
		}
		if d.SPFInclude != "" {
			out = append(out, txtRecord(d.Name, "v=spf1 include:"+d.SPFInclude+" ~all",
				"SPF: lets your SMTP relay send as "+d.Name+"; if the name has an SPF record already, add include:"+d.SPFInclude+" to it instead (one SPF record per name)"))
		} else {
			out = append(out, wire.DomainRecord{Type: "TXT", Name: d.Name,
				Purpose: "SPF: one v=spf1 record naming the servers that send as " + d.Name + ": include your SMTP relay's SPF host (its documentation names it; give it as spf_include for the exact value), ending in ~all"})
		}
	case doctor.ProviderResend:
		out = append(out,
			wire.DomainRecord{Type: "TXT", Name: "resend._domainkey." + d.Name,
				Purpose: "DKIM: the key Resend signs with; its value is in Resend's dashboard (or its domains API) for this domain"},
			wire.DomainRecord{Type: "MX", Name: "send." + d.Name, Value: "10 feedback-smtp.us-east-1.amazonses.com",
				Purpose: "bounces and complaints for Resend's Return-Path; use the region Resend shows for the domain (us-east-1 is its default)"},
			txtRecord("send."+d.Name, "v=spf1 include:amazonses.com ~all", "SPF for the Return-Path Resend sends with (send."+d.Name+")"))
	case doctor.ProviderPostmark:
		out = append(out,
			wire.DomainRecord{Type: "CNAME", Name: "pm-bounces." + d.Name, Value: "pm.mtasv.net",
				Purpose: "Postmark's custom Return-Path: SPF aligns with the From domain. The DKIM record (a TXT at <selector>._domainkey." + d.Name + ") is in Postmark's DNS settings for the domain"})
	}
	out = append(out, txtRecord("_dmarc."+d.Name, "v=DMARC1; p=none; rua=mailto:dmarc-reports@"+d.Name,
		"DMARC: start with p=none and read the reports sent to rua; move to p=quarantine, then p=reject, once they show your own mail passing. Keep an existing DMARC record of the domain (or of its organizational domain) instead"))
	return out
}

func keyDesc(alg string) string {
	if alg == AlgEd25519 {
		return "Ed25519"
	}
	return fmt.Sprintf("RSA %d-bit", rsaBits)
}

// txtRecord is a TXT record, with its value split into strings of at most
// 255 characters when it is longer (a DKIM RSA key is).
func txtRecord(name, value, purpose string) wire.DomainRecord {
	r := wire.DomainRecord{Type: "TXT", Name: name, Value: value, Purpose: purpose}
	if len(value) > 255 {
		r.Purpose += ". The value is longer than 255 characters: publish it as the several quoted strings of one record given in strings (most DNS hosts split it themselves)"
		for v := value; v != ""; {
			n := min(len(v), 255)
			r.Strings, v = append(r.Strings, v[:n]), v[n:]
		}
	}
	return r
}
