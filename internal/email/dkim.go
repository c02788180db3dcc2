package email

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-msgauth/dkim"

	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
)

// checkFrom refuses a from address on a domain that is neither the
// tenant's nor the instance's when a real provider sends (the tenant's
// own, else the instance's), so no tenant key can send as another's
// domain; the outbox sends nothing and takes any sender. The match is
// exact: mail.example.com is not example.com.
func (s *Service) checkFrom(ctx context.Context, sc *store.Scope, from string) error {
	// The tenant's provider (its own settings, else the instance's)
	// decides: the outbox sends nothing and takes any from.
	instanceOutbox := s.opts.Provider.Name() == ProviderOutbox
	if instanceOutbox {
		if outbox, err := s.usesOutbox(ctx, sc.Tx(), sc.TenantID()); err != nil || outbox {
			return err
		}
	}
	d := domainOf(from)
	var one int
	err := sc.Tx().QueryRow(ctx, "SELECT 1 FROM email_domains WHERE name = ? AND tenant_id IN (?, ?)", d, sc.TenantID(),
		store.InstanceTenantID).Scan(&one)
	if errors.Is(err, store.ErrNotFound) {
		if !instanceOutbox {
			if outbox, err := s.usesOutbox(ctx, sc.Tx(), sc.TenantID()); err != nil || outbox {
				return err
			}
		}
		return &core.Error{Kind: core.ErrInvalid, Code: "from_domain_not_allowed", Field: "from",
			Message: fmt.Sprintf("from: %q is not a sending domain of this tenant or of the instance: add it with POST /v1/domains first", d)}
	}
	return err
}

// signedHeaders are the header fields a DKIM signature covers when the
// message has them: what mailbox providers expect signed, the one-click
// unsubscribe fields included (RFC 8058 requires them signed).
var signedHeaders = []string{"From", "Reply-To", "To", "Cc", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
	"Auto-Submitted", "List-Unsubscribe", "List-Unsubscribe-Post"}

// sign adds a DKIM-Signature per active key of the From domain d (RSA,
// and Ed25519 when the domain has one) to a message the SMTP provider
// sends; the other providers sign themselves, and the outbox sends
// nothing. A domain without keys, or none (deleted since the email was
// accepted), goes unsigned.
func (s *Service) sign(m *Message, provider string, d *Domain) (*Message, error) {
	if provider != ProviderSMTP {
		return m, nil
	}
	if d == nil {
		s.log.Warn("email sent unsigned: its from domain is no longer registered", "email", m.Email.ID, "domain", domainOf(m.Email.From))
		return m, nil
	}
	hdr, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(m.Raw)))
	if err != nil {
		return nil, fmt.Errorf("dkim: read the message's header: %w", err)
	}
	var keys []string
	for _, k := range signedHeaders {
		if hdr.Has(k) {
			keys = append(keys, k)
		}
	}
	var sigs bytes.Buffer
	for _, k := range d.Keys {
		if k.Status != KeyActive {
			continue
		}
		signer, err := s.keys.signer(s, k)
		if err != nil {
			return nil, err
		}
		ds, err := dkim.NewSigner(&dkim.SignOptions{Domain: d.Name, Selector: k.Selector, Signer: signer, Hash: crypto.SHA256,
			HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed, HeaderKeys: keys})
		if err != nil {
			return nil, fmt.Errorf("dkim: %w", err)
		}
		if _, err := ds.Write(m.Raw); err != nil {
			ds.Close()
			return nil, fmt.Errorf("dkim: %w", err)
		}
		if err := ds.Close(); err != nil {
			return nil, fmt.Errorf("dkim: sign with selector %s: %w", k.Selector, err)
		}
		sigs.WriteString(ds.Signature())
	}
	if sigs.Len() == 0 {
		return m, nil
	}
	out := *m
	out.Raw = append(sigs.Bytes(), m.Raw...)
	return &out, nil
}

// keyCache keeps opened private keys by key id (a key's id never changes
// its key), so a burst of sends opens and parses each key once; and the
// keys themselves (selector, algorithm, sealed key: what never changes of
// a key), so that a send reads only the ids of its domain's active keys.
// Whether a key signs (its status) is never cached: every send reads it.
type keyCache struct {
	mu   sync.Mutex
	byID map[string]crypto.Signer
	keys map[string]DKIMKey
}

// keyCacheSize bounds the keys kept; past it the cache starts over.
const keyCacheSize = 4096

// known returns the keys of ids (comma-separated, the active keys of a
// domain) as active keys, newest first; nil when one is not known or ids
// is empty.
func (c *keyCache) known(ids string) []DKIMKey {
	if ids == "" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []DKIMKey
	for id := range strings.SplitSeq(ids, ",") {
		k, ok := c.keys[id]
		if !ok {
			return nil
		}
		k.Status = KeyActive
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b DKIMKey) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return out
}

// remember keeps keys for known.
func (c *keyCache) remember(keys []DKIMKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil || len(c.keys)+len(keys) > keyCacheSize {
		c.keys = map[string]DKIMKey{}
	}
	for _, k := range keys {
		c.keys[k.ID] = k
	}
}

func (c *keyCache) signer(s *Service, k DKIMKey) (crypto.Signer, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if sg, ok := c.byID[k.ID]; ok {
		return sg, nil
	}
	if s.opts.Box == nil {
		return nil, errors.New("dkim: no secret box to open keys with")
	}
	der, err := s.opts.Box.Open(k.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("dkim: open the key of selector %s (sealed with another JOIST_SECRET_KEY?): %w", k.Selector, err)
	}
	pk, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("dkim: the key of selector %s: %w", k.Selector, err)
	}
	sg, ok := pk.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("dkim: the key of selector %s is a %T", k.Selector, pk)
	}
	if c.byID == nil {
		c.byID = map[string]crypto.Signer{}
	}
	c.byID[k.ID] = sg
	return sg, nil
}
