package doctor

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/joist-dev/joist/wire"
)

// DKIMRecordValue is the TXT value to publish at <selector>._domainkey.<domain>
// for a public key: "v=DKIM1; k=rsa; p=<SubjectPublicKeyInfo, base64>"
// (RFC 6376 3.6.1) or "v=DKIM1; k=ed25519; p=<the 32 raw bytes, base64>"
// (RFC 8463 4.2).
func DKIMRecordValue(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			return "", err
		}
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der), nil
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(k), nil
	default:
		return "", fmt.Errorf("DKIM: unsupported public key type %T", pub)
	}
}

// parseDKIMKey decodes a DKIM record's p= for key type k.
func parseDKIMKey(k, p string) (crypto.PublicKey, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(p), ""))
	if err != nil {
		return nil, errors.New("p= is not valid base64")
	}
	switch k {
	case "rsa":
		if pub, err := x509.ParsePKIXPublicKey(raw); err == nil {
			if rk, ok := pub.(*rsa.PublicKey); ok {
				return rk, nil
			}
			return nil, fmt.Errorf("p= holds a %T key, not RSA", pub)
		}
		// Some publish the bare PKCS #1 RSAPublicKey; verifiers accept it.
		if rk, err := x509.ParsePKCS1PublicKey(raw); err == nil {
			return rk, nil
		}
		return nil, errors.New("p= is not an RSA public key")
	case "ed25519":
		if len(raw) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("p= holds %d bytes; an Ed25519 key is %d", len(raw), ed25519.PublicKeySize)
		}
		return ed25519.PublicKey(raw), nil
	}
	return nil, fmt.Errorf("unknown key type k=%s", k)
}

// dkim checks the record of each selector.
func (c *checker) dkim(ctx context.Context) {
	sels := c.in.Selectors
	if len(sels) == 0 {
		switch c.in.Provider {
		case ProviderResend:
			sels = []Selector{{Name: "resend"}} // Resend's selector is always "resend"
		case ProviderPostmark:
			c.add(CheckDKIM, wire.CheckInfo, "no selector given: Postmark names its DKIM selector per domain (like 20240101123456pm), so nothing was checked",
				"give the selector Postmark shows under the domain's DNS settings (the host before ._domainkey)")
			return
		default:
			c.add(CheckDKIM, wire.CheckInfo, "no selector given, so no DKIM record was checked",
				"give the selector the domain's mail is signed with (the s= of its DKIM-Signature header)")
			return
		}
	}
	for _, s := range sels {
		c.dkimSelector(ctx, s)
	}
}

func (c *checker) dkimSelector(ctx context.Context, s Selector) {
	sel := strings.ToLower(strings.TrimSpace(s.Name))
	name := sel + "._domainkey." + c.domain
	want := ""
	if s.PublicKey != nil {
		v, err := DKIMRecordValue(s.PublicKey)
		if err != nil {
			c.add(CheckDKIM, wire.CheckFail, "selector "+sel+": "+err.Error(), "")
			return
		}
		want = v
	}
	publish := func() string {
		switch {
		case want != "":
			fix := "publish " + record("TXT", name, want)
			if len(want) > 255 {
				fix += " (longer than 255 characters: split it into quoted strings of at most 255 characters in one record; most DNS hosts do this themselves)"
			}
			return fix
		case c.in.Provider == ProviderResend:
			return "publish the TXT record at " + name + " that Resend shows for this domain (its dashboard, or GET /domains/{id} of its API)"
		case c.in.Provider == ProviderPostmark:
			return "publish the TXT record at " + name + " that Postmark shows under the domain's DNS settings"
		default:
			return "publish the TXT record at " + name + " that your DKIM signer gives for selector " + sel
		}
	}
	txts, a := c.l.txt(ctx, name)
	if c.dnsFailed(CheckDKIM, a) {
		return
	}
	var recs []string
	for _, t := range txts {
		if strings.Contains(strings.ToLower(t), "p=") {
			recs = append(recs, t)
		}
	}
	switch {
	case len(recs) == 0 && len(txts) == 0:
		c.add(CheckDKIM, wire.CheckFail, "no DKIM record at "+name+": receivers cannot verify signatures made with selector "+sel, publish())
		return
	case len(recs) == 0:
		c.add(CheckDKIM, wire.CheckFail, "the TXT record at "+name+" is not a DKIM key record (it has no p= tag)", publish()+", replacing it")
		return
	case len(recs) > 1:
		c.add(CheckDKIM, wire.CheckFail, fmt.Sprintf("%d DKIM records at %s: a verifier picks one, so signatures fail at random", len(recs), name), publish()+" as the only record there")
		return
	}
	rec := recs[0]
	names, v := tags(rec)
	fail := func(msg string) {
		c.add(CheckDKIM, wire.CheckFail, "the DKIM record at "+name+" "+msg, publish()+", replacing it")
	}
	if ver, ok := v["v"]; ok && (names[0] != "v" || ver != "DKIM1") {
		fail("is ignored: when v= is present it must be the first tag and read DKIM1")
		return
	}
	k := strings.ToLower(v["k"])
	if k == "" {
		k = "rsa"
	}
	if v["p"] == "" {
		fail("has an empty p=: the key is revoked, and every signature made with selector " + sel + " fails")
		return
	}
	if slices.Equal(strings.Split(strings.ReplaceAll(v["h"], " ", ""), ":"), []string{"sha1"}) {
		fail("allows only SHA-1 (h=sha1), which verifiers refuse since RFC 8301")
		return
	}
	pub, err := parseDKIMKey(k, v["p"])
	if err != nil {
		fail("cannot be used: " + err.Error())
		return
	}
	desc := "Ed25519 key"
	warned := false
	if rk, ok := pub.(*rsa.PublicKey); ok {
		bits := rk.N.BitLen()
		desc = fmt.Sprintf("RSA %d-bit key", bits)
		rotate := "sign with a new RSA 2048-bit key under a new selector and publish its record (POST /v1/domains/{domain}/rotate-dkim does both steps for a domain joist signs)"
		if bits < 1024 {
			c.add(CheckDKIM, wire.CheckFail, fmt.Sprintf("the DKIM record at %s holds an RSA %d-bit key: verifiers refuse keys under 1024 bits (RFC 8301)", name, bits), rotate)
			return
		}
		if bits < 2048 {
			warned = true
			c.add(CheckDKIM, wire.CheckWarn, fmt.Sprintf("the DKIM record at %s holds an RSA %d-bit key: 2048 bits is the norm, and some receivers distrust shorter keys", name, bits), rotate)
		}
	}
	if want != "" {
		if eq, ok := pub.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(s.PublicKey) {
			c.add(CheckDKIM, wire.CheckFail, "the DKIM record at "+name+" holds another key than the one joist signs with: every signature made with selector "+sel+" fails",
				publish()+", replacing it")
			return
		}
		desc += ", the one joist signs with"
	}
	if slices.Contains(strings.Split(strings.ReplaceAll(v["t"], " ", ""), ":"), "y") {
		fixed := want
		if fixed == "" {
			fixed = dropTag(rec, "t")
		}
		warned = true
		c.add(CheckDKIM, wire.CheckWarn, "the DKIM record at "+name+" has t=y (testing): receivers may treat mail whose signature fails like unsigned mail, and some ignore the key",
			"replace it with "+record("TXT", name, fixed))
	}
	if !warned {
		c.add(CheckDKIM, wire.CheckPass, "DKIM record at "+name+": "+desc, "")
	}
}

// dropTag removes one tag from a tag=value record.
func dropTag(rec, tag string) string {
	var keep []string
	for _, part := range strings.Split(rec, ";") {
		k, _, _ := strings.Cut(part, "=")
		if strings.TrimSpace(part) == "" || strings.EqualFold(strings.TrimSpace(k), tag) {
			continue
		}
		keep = append(keep, strings.TrimSpace(part))
	}
	return strings.Join(keep, "; ")
}
