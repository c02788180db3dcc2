package email

import (
	"html"
	"strings"
)

// preferencesFooterLabel is the footer's words (English: the footer is
// joist's, not the tenant's template).
const preferencesFooterLabel = "Manage your notification preferences"

// addPreferencesFooter appends a footer linking to the preferences page
// at link to an email's rendered parts: a line to the text part, and a
// paragraph to the HTML part (before </body> when the HTML has one). It
// is appended after rendering, so every template and layout gets it
// whatever it says; link is a checked http(s) URL and is escaped here.
func addPreferencesFooter(e *Email, link string) {
	if e.Text != "" || e.HTML == "" {
		e.Text = strings.TrimRight(e.Text, "\r\n") + "\n\n--\n" + preferencesFooterLabel + ": " + link + "\n"
	}
	if e.HTML == "" {
		return
	}
	p := `<p style="margin:24px 0 0;font-size:12px;color:#6b7280"><a href="` + html.EscapeString(link) + `" style="color:#6b7280">` +
		preferencesFooterLabel + `</a></p>`
	lower := strings.ToLower(e.HTML)
	if i := strings.LastIndex(lower, "</body>"); i >= 0 {
		e.HTML = e.HTML[:i] + p + e.HTML[i:]
		return
	}
	e.HTML += p
}
