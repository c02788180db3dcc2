package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"strings"
	"time"

	"github.com/joist-dev/joist/internal/store"
)

// Preference links. Every notification email's footer links the
// contact's preferences page:
//
//	https://PUBLIC_URL/p/TOKEN
//
// The token is self-contained (no row per link): it names the tenant and
// the contact's joist id (ct_..., not the app's external id, so a contact
// deleted and created again under the same external id does not inherit
// old links), followed by an HMAC-SHA256 of them under Options.PrefsKey,
// a key derived from JOIST_SECRET_KEY with its own label (an unsubscribe
// token is not a preference token, nor the other way round).
//
// Links do not expire: an email read months later still opens the page.
// What a link grants is small (the notification preferences of the one
// contact it was sent to); it stops working when the contact is deleted,
// and every link stops working when JOIST_SECRET_KEY changes.
//
// Written by hand: the format is joist's own and a few lines of
// crypto/hmac, like the email system's unsubscribe tokens.

const (
	prefsTokenVersion = 1
	prefsMACSize      = sha256.Size
	maxPrefsField     = 128
	// prefsFormTTL is how long a rendered page's form may be saved.
	prefsFormTTL = 24 * time.Hour
)

// PrefsLink is what a valid preference token names.
type PrefsLink struct {
	TenantID  string
	ContactID string // the joist id (ct_...)
}

func (s *Service) prefsMAC(parts ...[]byte) []byte {
	m := hmac.New(sha256.New, s.opts.PrefsKey)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// PreferencesToken signs a token naming tenantID and contactID (the
// contact's joist id); "" when no key is configured.
func (s *Service) PreferencesToken(tenantID, contactID string) string {
	if len(s.opts.PrefsKey) == 0 {
		return ""
	}
	p := []byte{prefsTokenVersion}
	for _, f := range []string{tenantID, contactID} {
		p = binary.AppendUvarint(p, uint64(len(f)))
		p = append(p, f...)
	}
	p = append(p, s.prefsMAC([]byte("link\x00"), p)...)
	return base64.RawURLEncoding.EncodeToString(p)
}

// PreferencesURL is the public link of the preferences page of contact
// contactID (its joist id) of tenantID; "" when links cannot be made (no
// public URL or key).
func (s *Service) PreferencesURL(tenantID, contactID string) string {
	if s.opts.PublicURL == "" || len(s.opts.PrefsKey) == 0 {
		return ""
	}
	return strings.TrimRight(s.opts.PublicURL, "/") + "/p/" + s.PreferencesToken(tenantID, contactID)
}

// ParsePreferencesToken checks a token's signature (in constant time)
// before reading anything from it; ok is false for anything joist did
// not sign (malformed, altered, another key's), which the page answers
// 404 without telling which.
func (s *Service) ParsePreferencesToken(tok string) (PrefsLink, bool) {
	if len(s.opts.PrefsKey) == 0 || len(tok) > 1024 {
		return PrefsLink{}, false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	if err != nil || len(raw) < 1+prefsMACSize+2 {
		return PrefsLink{}, false
	}
	payload, mac := raw[:len(raw)-prefsMACSize], raw[len(raw)-prefsMACSize:]
	if !hmac.Equal(mac, s.prefsMAC([]byte("link\x00"), payload)) || payload[0] != prefsTokenVersion {
		return PrefsLink{}, false
	}
	rest := payload[1:]
	var f [2]string
	for i := range f {
		n, k := binary.Uvarint(rest)
		if k <= 0 || n > maxPrefsField || uint64(len(rest)-k) < n {
			return PrefsLink{}, false
		}
		f[i], rest = string(rest[k:k+int(n)]), rest[k+int(n):]
		if f[i] == "" || !store.ValidText(f[i]) {
			return PrefsLink{}, false
		}
	}
	if len(rest) != 0 {
		return PrefsLink{}, false
	}
	return PrefsLink{TenantID: f[0], ContactID: f[1]}, true
}

// The page's form carries a proof that joist rendered it for this token
// a short while ago: "UNIXTIME.MAC", the MAC an HMAC of (token, time)
// under the same key with another label. The token in the path is itself
// the secret a forger would need (a site that knows it could as well
// open the page), so this is a second, cheap guard: a form posted from
// elsewhere must have been rendered by joist for this very link within
// prefsFormTTL; Origin and Referer are checked as well when present.

func (s *Service) prefsFormProof(tok string, at time.Time) string {
	ts := strconv.FormatInt(at.Unix(), 10)
	return ts + "." + base64.RawURLEncoding.EncodeToString(s.prefsMAC([]byte("form\x00"), []byte(tok), []byte{0}, []byte(ts)))
}

// prefsFormValid reports whether proof is one prefsFormProof made for tok
// within prefsFormTTL of now.
func (s *Service) prefsFormValid(tok, proof string, now time.Time) bool {
	ts, _, ok := strings.Cut(proof, ".")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || len(proof) > 128 {
		return false
	}
	at := time.Unix(sec, 0)
	if now.Sub(at) > prefsFormTTL || at.Sub(now) > time.Minute {
		return false
	}
	return hmac.Equal([]byte(proof), []byte(s.prefsFormProof(tok, at)))
}
