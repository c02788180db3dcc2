package notify

import (
	"net/url"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// FuzzPrefsToken: whatever the path holds, parsing a preference token
// never panics and accepts only what joist signed; every token joist
// makes parses back to its tenant and contact.
func FuzzPrefsToken(f *testing.F) {
	s := &Service{opts: Options{PrefsKey: []byte("0123456789abcdef0123456789abcdef"), PublicURL: "https://joist.example"}}
	f.Add("tn_1", "ct_1", "")
	f.Add("tn_01HX", "ct_01HY", "AQR0bl8xBGN0XzE")
	f.Add("a", "b", "\x00\xff")
	f.Fuzz(func(t *testing.T, tenant, contact, raw string) {
		if _, ok := s.ParsePreferencesToken(raw); ok && raw != s.PreferencesToken(tenant, contact) {
			l, _ := s.ParsePreferencesToken(raw)
			if s.PreferencesToken(l.TenantID, l.ContactID) != raw {
				t.Fatalf("accepted a token joist did not make: %q", raw)
			}
		}
		tok := s.PreferencesToken(tenant, contact)
		l, ok := s.ParsePreferencesToken(tok)
		valid := tenant != "" && contact != "" && len(tenant) <= maxPrefsField && len(contact) <= maxPrefsField &&
			store.ValidText(tenant) && store.ValidText(contact)
		if ok != valid || ok && (l.TenantID != tenant || l.ContactID != contact) {
			t.Fatalf("round trip of (%q, %q): %+v %v", tenant, contact, l, ok)
		}
		if !s.prefsFormValid(tok, s.prefsFormProof(tok, time.Unix(1e9, 0)), time.Unix(1e9+60, 0)) {
			t.Fatal("a fresh proof is refused")
		}
		if s.prefsFormValid(tok, raw, time.Unix(1e9, 0)) && raw != s.prefsFormProof(tok, time.Unix(1e9, 0)) {
			t.Fatalf("a forged proof is accepted: %q", raw)
		}
	})
}

// FuzzPrefsForm: whatever the form holds, reading and applying it never
// panics, and never mutes a critical type.
func FuzzPrefsForm(f *testing.F) {
	types := []Type{
		{Name: "booking.created", Group: "bookings", Channels: wire.NotificationChannels{Email: &wire.NotificationEmail{Template: "x"}, InApp: &wire.NotificationInApp{Title: "t"}}},
		{Name: "password.reset", Critical: true, Channels: wire.NotificationChannels{Email: &wire.NotificationEmail{Template: "x"}}},
	}
	st := prefsState{types: types, o: normalizePrefs(wire.NotificationPreferencesPut{Groups: map[string]map[string]bool{"bookings": {"email": false}}})}
	f.Add("shown=channel.email&shown=type.email.booking.created&type.email.booking.created=on")
	f.Add("shown=type.email.password.reset")
	f.Add("shown=group.email.bookings&group.email.bookings=on&shown=type.sms.x")
	f.Add("shown=type.email.%00&shown=channel.")
	f.Fuzz(func(t *testing.T, q string) {
		form, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		pf, err := parsePrefsForm(form)
		if err != nil {
			return
		}
		o, err := pf.apply(st)
		if err != nil {
			return
		}
		if v, ok := o.Types["password.reset"]; ok && len(v) > 0 {
			for _, on := range v {
				if !on {
					t.Fatalf("%q mutes a critical type: %+v", q, o)
				}
			}
		}
		if err := checkPrefs(o, map[string]Type{"booking.created": types[0], "password.reset": types[1]}); err != nil {
			t.Fatalf("%q gives overrides the API refuses: %v (%+v)", q, err, o)
		}
	})
}
