package render_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/email/render"
	"github.com/joist-dev/joist/wire"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from this run")

// baseLayout is a layout with CSS in <style>: a class rule, an element
// rule and a media query (which cannot be inlined and stays).
const baseLayout = `<!DOCTYPE html>
<html lang="{{.locale}}">
<head>
<meta charset="utf-8">
<title>{{.subject}}</title>
<style>
body { margin: 0; background-color: #f4f4f5; }
p { font-family: Helvetica, Arial, sans-serif; font-size: 16px; color: #18181b; }
.card { background-color: #ffffff; padding: 24px; }
.button { background-color: #2563eb; color: #ffffff; padding: 12px 20px; }
.footer { font-size: 12px; color: #71717a; }
@media (max-width: 600px) { .card { padding: 12px; } }
</style>
</head>
<body>
<div class="card">
{{.content}}
</div>
<p class="footer">{{.tenant.name}} · Sent to {{.contact.email}}</p>
</body>
</html>
`

// booking is the booking confirmation of the issue: en with every part,
// de without text (derived), de-AT absent (falls back to de).
func booking() wire.EmailTemplatePut {
	return wire.EmailTemplatePut{
		DefaultLocale: "en",
		Layout:        "base",
		Variants: map[string]wire.EmailTemplateVariant{
			"en": {
				Subject:   "Booking {{.data.booking_id}} confirmed",
				Preheader: "See you on {{.data.date}}",
				HTML: `<p>Hi {{.contact.name}},</p>
<p>your booking <strong>{{.data.booking_id}}</strong> for {{.data.guests}} guests on {{.data.date}} is confirmed.</p>
<p><a class="button" href="{{.data.url}}">Manage booking</a></p>`,
				Text: "Hi {{.contact.name}},\n\nyour booking {{.data.booking_id}} for {{.data.guests}} guests on {{.data.date}} is confirmed.\n\nManage booking: {{.data.url}}\n",
			},
			"de": {
				Subject:   "Buchung {{.data.booking_id}} bestätigt",
				Preheader: "Bis zum {{.data.date}}",
				HTML: `<p>Hallo {{.contact.name}},</p>
<p>Ihre Buchung <strong>{{.data.booking_id}}</strong> für {{.data.guests}} Gäste am {{.data.date}} ist bestätigt.</p>
<ul>{{range .data.items}}<li>{{.}}</li>{{end}}</ul>
<p><a class="button" href="{{.data.url}}">Buchung verwalten</a></p>`,
			},
		},
	}
}

func bookingData(t *testing.T) map[string]any {
	t.Helper()
	d, err := render.DecodeData([]byte(`{"booking_id": 20240611, "date": "2024-06-11", "guests": 2,
		"items": ["Doppelzimmer", "Frühstück"], "url": "https://app.example.com/b/20240611?x=1&lang=de"}`))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func contact(name, locale string) *render.Contact {
	return &render.Contact{ExternalID: "u_42", Email: "ana@example.com", Name: name, Locale: locale, Timezone: "Europe/Vienna"}
}

var tenant = render.Tenant{Slug: "acme", Name: "Acme Stays"}

func mustTemplate(t *testing.T, w wire.EmailTemplatePut) *render.Template {
	t.Helper()
	tmpl, err := render.ParseTemplate(w)
	if err != nil {
		t.Fatalf("ParseTemplate: %v", err)
	}
	return tmpl
}

func mustLayout(t *testing.T, src string) *render.Layout {
	t.Helper()
	l, err := render.ParseLayout("base", src)
	if err != nil {
		t.Fatalf("ParseLayout: %v", err)
	}
	return l
}

// TestGolden renders the cases below and compares each message with
// testdata/<name>.golden.
func TestGolden(t *testing.T) {
	layout := mustLayout(t, baseLayout)
	cases := []struct {
		name   string
		tmpl   wire.EmailTemplatePut
		layout *render.Layout
		ctx    func(t *testing.T) render.Context
		locale string
	}{
		{name: "booking_en", tmpl: booking(), layout: layout, ctx: func(t *testing.T) render.Context {
			return render.Context{Data: bookingData(t), Contact: contact("Ana", "en-US"), Tenant: tenant}
		}},
		// de has no text part: it is derived from the HTML (links as
		// "text <url>", list items, the layout's footer).
		{name: "booking_de_derived_text", tmpl: booking(), layout: layout, locale: "de", ctx: func(t *testing.T) render.Context {
			return render.Context{Data: bookingData(t), Contact: contact("Ana", "en"), Tenant: tenant}
		}},
		// The contact's de-AT finds no variant and falls back to de.
		{name: "booking_de_AT_fallback", tmpl: booking(), layout: layout, ctx: func(t *testing.T) render.Context {
			return render.Context{Data: bookingData(t), Contact: contact("Ana", "de-AT"), Tenant: tenant}
		}},
		// A hostile contact name and data are escaped in HTML (text,
		// attribute and URL contexts) and appear as typed in the text part.
		{name: "escaping", tmpl: wire.EmailTemplatePut{DefaultLocale: "en", Layout: "base", Variants: map[string]wire.EmailTemplateVariant{
			"en": {Subject: "Hello {{.contact.name}}", Preheader: "{{.contact.name}}",
				HTML: `<p title="{{.contact.name}}">Hi {{.contact.name}}</p><p><a href="{{.data.url}}">open</a></p><p>{{.data.note}}</p>`},
		}}, layout: layout, ctx: func(t *testing.T) render.Context {
			return render.Context{
				Data:    map[string]any{"url": "javascript:alert(1)", "note": `</p><img src=x onerror="alert(1)">`},
				Contact: contact(`<script>alert("x")</script> & "Bob"`, "en"), Tenant: render.Tenant{Slug: "evil", Name: "<b>Evil</b> Corp"},
			}
		}},
		// No layout, no CSS: the variant's HTML becomes a whole document.
		{name: "no_layout", tmpl: wire.EmailTemplatePut{DefaultLocale: "en", Variants: map[string]wire.EmailTemplateVariant{
			"en": {Subject: "Your code", HTML: `<h1>{{.data.code}}</h1><p>It expires in 10 minutes.<br>If you did not ask for it, ignore this email.</p>`},
		}}, ctx: func(t *testing.T) render.Context {
			return render.Context{Data: map[string]any{"code": 123456.0}, Tenant: tenant}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tmpl := mustTemplate(t, c.tmpl)
			msg, err := render.Render(tmpl, c.layout, c.ctx(t), c.locale)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			golden(t, c.name, format(msg))
		})
	}
}

func format(m render.Message) string {
	var b strings.Builder
	b.WriteString("Locale: " + m.Locale + "\n")
	b.WriteString("Subject: " + m.Subject + "\n")
	b.WriteString("Preheader: " + m.Preheader + "\n")
	b.WriteString("\n===== html =====\n" + m.HTML)
	b.WriteString("\n===== text =====\n" + m.Text)
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the rendered message (run with -update if the change is intended)\n--- got ---\n%s", path, got)
	}
}
