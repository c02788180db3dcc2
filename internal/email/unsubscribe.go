package email

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"

	gomail "github.com/emersion/go-message/mail"

	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
)

// One-click unsubscribe (RFC 8058). Marketing mail carries
//
//	List-Unsubscribe: <https://PUBLIC_URL/u/TOKEN>
//	List-Unsubscribe-Post: List-Unsubscribe=One-Click
//
// and a POST to that URL suppresses the address for the token's scope. The
// token is self-contained, so no row is written per email: it names the
// tenant, the address and the scope, followed by an HMAC-SHA256 of them
// under a key derived from JOIST_SECRET_KEY (Options.UnsubscribeKey). A
// token is not encrypted: it shows the address to whoever holds the link,
// which is the address's owner.
//
// Written by hand: the format is joist's own and a few lines of crypto/hmac.

// Unsubscribe scopes: what a token unsubscribes from. A category is its
// own name; a notification scope starts with ScopeNotification
// ("notification:type:booking.created", "notification:group:bookings").
const (
	ScopeMarketing    = CategoryMarketing
	ScopeNotification = "notification:"
)

const (
	tokenVersion = 1
	tokenMACSize = sha256.Size
	// maxTokenField bounds each field of a token (an address is at most 254).
	maxTokenField = 512
)

// Unsubscription is what a valid token names.
type Unsubscription struct {
	TenantID string
	Address  string // bare, lower case
	Scope    string
}

// Token errors: the edge answers 400 and 404.
func errTokenMalformed() error {
	return &core.Error{Kind: core.ErrInvalid, Code: "invalid_token", Field: "path.token",
		Message: "this unsubscribe link is malformed: check that it was copied whole"}
}

func errTokenUnknown() error {
	return &core.Error{Kind: core.ErrNotFound, Code: "unknown_token",
		Message: "this unsubscribe link is not one joist made (altered, or made with another JOIST_SECRET_KEY)"}
}

// UnsubscribeToken signs a token naming tenantID, address and scope. The
// address is stored bare and in lower case, as suppressions compare it.
func (s *Service) UnsubscribeToken(tenantID, address, scope string) string {
	var p []byte
	p = append(p, tokenVersion)
	for _, f := range []string{tenantID, strings.ToLower(bareAddress(address)), scope} {
		p = binary.AppendUvarint(p, uint64(len(f)))
		p = append(p, f...)
	}
	p = append(p, s.tokenMAC(p)...)
	return base64.RawURLEncoding.EncodeToString(p)
}

// UnsubscribeURL is the public link of UnsubscribeToken.
func (s *Service) UnsubscribeURL(tenantID, address, scope string) string {
	return strings.TrimRight(s.opts.PublicURL, "/") + "/u/" + s.UnsubscribeToken(tenantID, address, scope)
}

func (s *Service) tokenMAC(payload []byte) []byte {
	m := hmac.New(sha256.New, s.opts.UnsubscribeKey)
	m.Write(payload)
	return m.Sum(nil)
}

// ParseUnsubscribeToken checks a token's signature (in constant time)
// before reading anything from it: a token that is not base64url or too
// short is malformed (400), one whose signature does not match is unknown
// (404).
func (s *Service) ParseUnsubscribeToken(tok string) (Unsubscription, error) {
	if len(s.opts.UnsubscribeKey) == 0 {
		return Unsubscription{}, errors.New("email: no unsubscribe key configured")
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	if err != nil || len(raw) < 1+tokenMACSize+3 {
		return Unsubscription{}, errTokenMalformed()
	}
	payload, mac := raw[:len(raw)-tokenMACSize], raw[len(raw)-tokenMACSize:]
	if !hmac.Equal(mac, s.tokenMAC(payload)) {
		return Unsubscription{}, errTokenUnknown()
	}
	// Signed by joist: what follows only guards against a format change.
	if payload[0] != tokenVersion {
		return Unsubscription{}, errTokenUnknown()
	}
	rest := payload[1:]
	var fields [3]string
	for i := range fields {
		n, k := binary.Uvarint(rest)
		if k <= 0 || n > maxTokenField || uint64(len(rest)-k) < n {
			return Unsubscription{}, errTokenMalformed()
		}
		fields[i], rest = string(rest[k:k+int(n)]), rest[k+int(n):]
		if !store.ValidText(fields[i]) {
			return Unsubscription{}, errTokenMalformed()
		}
	}
	if len(rest) != 0 || fields[0] == "" || fields[1] == "" || (fields[2] != ScopeMarketing && !strings.HasPrefix(fields[2], ScopeNotification)) {
		return Unsubscription{}, errTokenMalformed()
	}
	if fields[2] != ScopeMarketing && s.opts.NotificationUnsubscribe == nil {
		return Unsubscription{}, errTokenUnknown()
	}
	return Unsubscription{TenantID: fields[0], Address: fields[1], Scope: fields[2]}, nil
}

// Unsubscribe records what a valid token names: its address is suppressed
// for its scope (the marketing category), with source "unsubscribe", in
// the tenant's suppressions. Doing it twice is the same as once. Nothing
// is written for a token that does not verify.
func (s *Service) Unsubscribe(ctx context.Context, tok string) (Unsubscription, error) {
	u, err := s.ParseUnsubscribeToken(tok)
	if err != nil {
		return Unsubscription{}, err
	}
	if u.Scope != ScopeMarketing {
		// A notification scope: the notification system records it.
		if err := s.opts.NotificationUnsubscribe(ctx, u); err != nil {
			return Unsubscription{}, err
		}
		return u, nil
	}
	now := s.now()
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		return scope{tx.Tenant(u.TenantID)}.suppressionUpsert(ctx, Suppression{Address: u.Address, Category: u.Scope,
			Reason: "one-click unsubscribe", Source: SuppressionUnsubscribe, CreatedAt: now, UpdatedAt: now})
	})
	if err != nil {
		return Unsubscription{}, err
	}
	return u, nil
}

// Unsubscribed reports whether address of tenantID is suppressed for scope.
func (s *Service) Unsubscribed(ctx context.Context, tenantID, address, scopeName string) (bool, error) {
	var found bool
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		_, found, err = scope{tx.Tenant(tenantID)}.suppressionFind(ctx, []string{strings.ToLower(bareAddress(address))}, scopeName, s.now())
		return err
	})
	return found, err
}

// listUnsubscribe adds the one-click unsubscribe fields to the header of
// a marketing email, for its first recipient (send marketing mail one
// recipient per email). The DKIM signature covers both (signedHeaders).
func (s *Service) listUnsubscribe(h *gomail.Header, e Email) error {
	if e.Category != CategoryMarketing {
		return nil
	}
	if len(s.opts.UnsubscribeKey) == 0 || s.opts.PublicURL == "" {
		return errors.New("email: marketing mail needs an unsubscribe link: no unsubscribe key or public URL configured")
	}
	rcpts := recipients(e)
	if len(rcpts) == 0 {
		return errors.New("email: marketing mail without a recipient")
	}
	h.Set("List-Unsubscribe", "<"+s.UnsubscribeURL(e.TenantID, rcpts[0], ScopeMarketing)+">")
	h.Set("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
	return nil
}

// scopedUnsubscribe gives an email of a notification scope its one-click
// unsubscribe fields, for its first recipient, when links can be made
// (an unsubscribe key and a public URL); they are kept with the email's
// headers and signed like the marketing ones.
func (s *Service) scopedUnsubscribe(e *Email, tenantID, scopeName string) {
	rcpts := recipients(*e)
	if len(s.opts.UnsubscribeKey) == 0 || s.opts.PublicURL == "" || len(rcpts) == 0 {
		return
	}
	if e.Headers == nil {
		e.Headers = map[string]string{}
	}
	e.Headers["List-Unsubscribe"] = "<" + s.UnsubscribeURL(tenantID, rcpts[0], scopeName) + ">"
	e.Headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
}
