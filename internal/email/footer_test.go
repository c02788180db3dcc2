package email

import (
	"strings"
	"testing"
	"time"
)

// TestPreferencesFooter: the footer goes into the text part and into the
// HTML before </body> (or at its end), escaped; an HTML-only email gets
// no text part of its own.
func TestPreferencesFooter(t *testing.T) {
	const link = `https://joist.example/p/abc?x=1&y=2`
	cases := []struct {
		name, html, text   string
		wantHTML, wantText string
	}{
		{"both", "<html><BODY><p>Hi</p></BODY></html>", "Hi\n",
			`<p>Hi</p><p style="margin:24px 0 0;font-size:12px;color:#6b7280"><a href="https://joist.example/p/abc?x=1&amp;y=2" style="color:#6b7280">Manage your notification preferences</a></p></BODY></html>`,
			"Hi\n\n--\nManage your notification preferences: " + link + "\n"},
		{"html fragment", "<p>Hi</p>", "", `<p>Hi</p><p style=`, ""},
		{"text only", "", "Hi", "", "Hi\n\n--\nManage your notification preferences: " + link + "\n"},
	}
	for _, tc := range cases {
		e := Email{HTML: tc.html, Text: tc.text}
		addPreferencesFooter(&e, link)
		if tc.wantHTML != "" && !strings.Contains(e.HTML, tc.wantHTML) || tc.wantHTML == "" && e.HTML != "" {
			t.Errorf("%s: html %q", tc.name, e.HTML)
		}
		if e.Text != tc.wantText {
			t.Errorf("%s: text %q", tc.name, e.Text)
		}
	}
}

// TestPreferencesURLChecked: only an http(s) URL without characters that
// could break out of the footer's attribute is taken; anything else is
// refused, naming the field.
func TestPreferencesURLChecked(t *testing.T) {
	s := &Service{}
	in := Input{From: "a@acme.example", To: []string{"b@acme.example"}, Subject: "s", Text: "t"}
	for _, bad := range []string{"javascript:alert(1)", "https://x.example/\"><script>", "ftp://x.example/p", "https://x.example/\x00", "/p/relative"} {
		in.PreferencesURL = bad
		if _, err := s.check("", in, time.Now()); err == nil || !strings.Contains(err.Error(), "preferences_url") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	in.PreferencesURL = "https://joist.example/p/abc"
	if c, err := s.check("", in, time.Now()); err != nil || c.preferencesURL != in.PreferencesURL {
		t.Errorf("good URL: %v", err)
	}
}
