package render_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/email/render"
	"github.com/joist-dev/joist/wire"
)

// wantError checks that err is a *core.Error of kind invalid with code and
// field, whose message holds every fragment.
func wantError(t *testing.T, err error, code, field string, fragments ...string) {
	t.Helper()
	var ce *core.Error
	if !errors.As(err, &ce) {
		t.Fatalf("got %v (%T), want a *core.Error %s", err, err, code)
	}
	if !errors.Is(err, core.ErrInvalid) {
		t.Errorf("kind %v, want invalid", ce.Kind)
	}
	if ce.Code != code || ce.Field != field {
		t.Errorf("code %q field %q, want %q %q (message %q)", ce.Code, ce.Field, code, field, ce.Message)
	}
	for _, f := range fragments {
		if !strings.Contains(ce.Message, f) {
			t.Errorf("message %q lacks %q", ce.Message, f)
		}
	}
}

func en(v wire.EmailTemplateVariant) wire.EmailTemplatePut {
	return wire.EmailTemplatePut{DefaultLocale: "en", Variants: map[string]wire.EmailTemplateVariant{"en": v}}
}

func TestParseTemplateErrors(t *testing.T) {
	ok := wire.EmailTemplateVariant{Subject: "Hi", HTML: "<p>Hi</p>"}
	cases := []struct {
		name      string
		tmpl      wire.EmailTemplatePut
		code      string
		field     string
		fragments []string
	}{
		{"unknown locale tag", wire.EmailTemplatePut{DefaultLocale: "en", Variants: map[string]wire.EmailTemplateVariant{"en": ok, "klingon": ok}},
			"invalid_locale", "variants.klingon", []string{"'klingon' (variants.klingon) is not a BCP 47 language tag"}},
		{"unknown language", wire.EmailTemplatePut{DefaultLocale: "en", Variants: map[string]wire.EmailTemplateVariant{"en": ok, "xx": ok}},
			"invalid_locale", "variants.xx", nil},
		{"und is no language", wire.EmailTemplatePut{DefaultLocale: "en", Variants: map[string]wire.EmailTemplateVariant{"en": ok, "und": ok}},
			"invalid_locale", "variants.und", nil},
		{"invalid default locale", wire.EmailTemplatePut{DefaultLocale: "en_", Variants: map[string]wire.EmailTemplateVariant{"en": ok}},
			"invalid_locale", "default_locale", nil},
		{"no default locale", wire.EmailTemplatePut{Variants: map[string]wire.EmailTemplateVariant{"en": ok}},
			"invalid_template", "default_locale", []string{"default_locale is required"}},
		{"missing default variant", wire.EmailTemplatePut{DefaultLocale: "fr", Variants: map[string]wire.EmailTemplateVariant{"en": ok, "de": ok}},
			"invalid_template", "default_locale", []string{"'fr' has no variant", "de, en"}},
		{"no variants", wire.EmailTemplatePut{DefaultLocale: "en"},
			"invalid_template", "variants", nil},
		{"same locale twice", wire.EmailTemplatePut{DefaultLocale: "en", Variants: map[string]wire.EmailTemplateVariant{"en": ok, "de-AT": ok, "de-at": ok}},
			"invalid_locale", "variants.de-at", []string{"'de-AT' and 'de-at' are the same locale"}},
		{"subject required", en(wire.EmailTemplateVariant{Subject: "  ", HTML: "<p>x</p>"}),
			"invalid_template", "variants.en.subject", []string{"variant 'en' subject is required"}},
		{"no body", en(wire.EmailTemplateVariant{Subject: "x"}),
			"invalid_template", "variants.en.html", []string{"give html, text or both"}},
		{"syntax error in html names locale, field and line", wire.EmailTemplatePut{DefaultLocale: "en", Variants: map[string]wire.EmailTemplateVariant{
			"en": ok, "de": {Subject: "x", HTML: "<p>Hallo</p>\n<p>{{.contact.name</p>"}}},
			"invalid_template", "variants.de.html", []string{"variant 'de' html", "line 2", "bad character"}},
		{"syntax error in subject", en(wire.EmailTemplateVariant{Subject: "Booking {{.data.id}", HTML: "<p>x</p>"}),
			"invalid_template", "variants.en.subject", []string{"variant 'en' subject", "line 1"}},
		{"unknown function in text", en(wire.EmailTemplateVariant{Subject: "x", Text: "a\nb\n{{upper .data.x}}"}),
			"invalid_template", "variants.en.text", []string{"line 3", `function "upper" not defined`}},
		{"syntax error in preheader", en(wire.EmailTemplateVariant{Subject: "x", HTML: "y", Preheader: "{{end}}"}),
			"invalid_template", "variants.en.preheader", []string{"line 1", "unexpected {{end}}"}},
		// html/template's escaper runs at save time, not at the first send.
		{"html left in an attribute", en(wire.EmailTemplateVariant{Subject: "x", HTML: "<p>ok</p>\n<a href='{{.data.url}}>x</a>"}),
			"invalid_template", "variants.en.html", []string{"variant 'en' html ends inside a tag, attribute"}},
		{"html ambiguous context", en(wire.EmailTemplateVariant{Subject: "x", HTML: "<p>ok</p>\n\n<a href=\"{{if .data.q}}/search?q={{else}}/s/{{end}}{{.data.y}}\">x</a>"}),
			"invalid_template", "variants.en.html", []string{"variant 'en' html", "line 3", "ambiguous"}},
		{"NUL byte", en(wire.EmailTemplateVariant{Subject: "x\x00", HTML: "y"}),
			"invalid_text", "variants.en.subject", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := render.ParseTemplate(c.tmpl)
			wantError(t, err, c.code, c.field, c.fragments...)
			if render.Unprocessable(err) {
				t.Errorf("a template that cannot be saved is a 400, not a 422: %v", err)
			}
			if err2 := render.Validate(c.tmpl); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("Validate says %v, ParseTemplate %v", err2, err)
			}
		})
	}
}

func TestParseLayoutErrors(t *testing.T) {
	_, err := render.ParseLayout("base", "<html><body><p>{{.tenant.name}}</p></body></html>")
	wantError(t, err, "invalid_layout", "html", "layout 'base' never uses {{.content}}")

	_, err = render.ParseLayout("base", "<html><body>\n\n{{.content}</body></html>")
	wantError(t, err, "invalid_layout", "html", "layout 'base'", "line 3")

	_, err = render.ParseLayout("base", " ")
	wantError(t, err, "invalid_layout", "html", "required")

	// {{.content}} anywhere counts, inside if/with/range too.
	if _, err := render.ParseLayout("base", "<body>{{if .subject}}{{.content}}{{end}}</body>"); err != nil {
		t.Errorf("content inside if: %v", err)
	}
	// {{.contents}} or {{$.data.content}} is not the content.
	_, err = render.ParseLayout("base", "<body>{{.data.content}}</body>")
	wantError(t, err, "invalid_layout", "html")
}

func TestRenderMissingVariable(t *testing.T) {
	cases := []struct {
		name      string
		v         wire.EmailTemplateVariant
		ctx       render.Context
		field     string
		fragments []string
	}{
		{"in subject", wire.EmailTemplateVariant{Subject: "Booking {{.data.booking_id}} confirmed", HTML: "<p>x</p>"}, render.Context{},
			"data.booking_id", []string{"data.booking_id is missing", "variant 'en' subject", "line 1", `{{with index .data "booking_id"}}`}},
		{"in html, nested", wire.EmailTemplateVariant{Subject: "x", HTML: "<p>a</p>\n<p>{{.data.booking.room.number}}</p>"},
			render.Context{Data: map[string]any{"booking": map[string]any{"id": 1}}},
			"data.booking.room", []string{"data.booking.room is missing", "variant 'en' html", "line 2"}},
		{"misspelt contact field", wire.EmailTemplateVariant{Subject: "x", Text: "Hi {{.contact.nmae}}"},
			render.Context{Contact: &render.Contact{Name: "Ana"}}, "contact.nmae", []string{"contact.nmae is missing", "variant 'en' text"}},
		{"no contact", wire.EmailTemplateVariant{Subject: "x", HTML: "Hi {{.contact.name}}"}, render.Context{},
			"contact", []string{"contact is missing", "send the email to a contact"}},
		{"in preheader", wire.EmailTemplateVariant{Subject: "x", HTML: "y", Preheader: "{{.data.date}}"}, render.Context{},
			"data.date", []string{"data.date is missing", "variant 'en' preheader"}},
		{"inside range", wire.EmailTemplateVariant{Subject: "x", HTML: "{{range .data.items}}{{.price}}{{end}}"},
			render.Context{Data: map[string]any{"items": []any{map[string]any{"name": "a"}}}},
			"price", []string{"price is missing"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tmpl := mustTemplate(t, en(c.v))
			_, err := render.Render(tmpl, nil, c.ctx, "")
			wantError(t, err, "missing_variable", c.field, c.fragments...)
			if !render.Unprocessable(err) {
				t.Errorf("a missing variable is a 422: %v", err)
			}
		})
	}

	// A missing value in the layout is named too.
	layout := mustLayout(t, "<html><body>{{.content}}<p>{{.data.footer}}</p></body></html>")
	tmpl := mustTemplate(t, wire.EmailTemplatePut{DefaultLocale: "en", Layout: "base", Variants: map[string]wire.EmailTemplateVariant{"en": {Subject: "x", HTML: "y"}}})
	_, err := render.Render(tmpl, layout, render.Context{}, "")
	wantError(t, err, "missing_variable", "data.footer", "data.footer is missing", "layout 'base'")

	// An optional value guarded with index renders without it.
	tmpl = mustTemplate(t, en(wire.EmailTemplateVariant{Subject: "x", Text: `a{{with index .data "coupon"}} {{.}}{{end}}`}))
	msg, err := render.Render(tmpl, nil, render.Context{}, "")
	if err != nil || msg.Text != "a" {
		t.Errorf("optional value: %q, %v", msg.Text, err)
	}
}

func TestRenderSubjectInjection(t *testing.T) {
	tmpl := mustTemplate(t, en(wire.EmailTemplateVariant{Subject: "Hello {{.contact.name}}", HTML: "<p>x</p>"}))
	for _, name := range []string{"Ana\r\nBcc: victim@example.com", "Ana\nX-Evil: 1", "Ana\r"} {
		_, err := render.Render(tmpl, nil, render.Context{Contact: &render.Contact{Name: name}}, "")
		wantError(t, err, "invalid_subject", "", "variant 'en'", "line break")
		if !render.Unprocessable(err) {
			t.Errorf("a subject with a line break is a 422: %v", err)
		}
	}
	// A subject that renders empty is refused as well.
	tmpl = mustTemplate(t, en(wire.EmailTemplateVariant{Subject: "{{.data.s}}", HTML: "<p>x</p>"}))
	_, err := render.Render(tmpl, nil, render.Context{Data: map[string]any{"s": " "}}, "")
	wantError(t, err, "invalid_subject", "", "empty")
}

func TestRenderLocales(t *testing.T) {
	v := func(s string) wire.EmailTemplateVariant { return wire.EmailTemplateVariant{Subject: s, Text: s} }
	tmpl := mustTemplate(t, wire.EmailTemplatePut{DefaultLocale: "en", Variants: map[string]wire.EmailTemplateVariant{
		"en": v("en"), "de": v("de"), "de-CH": v("de-CH"), "pt-br": v("pt-BR"), "es": v("es"), "zh": v("zh"),
	}})
	if got := strings.Join(tmpl.Locales(), " "); got != "de de-CH en es pt-BR zh" {
		t.Errorf("Locales %q: tags are kept in canonical form", got)
	}
	cases := []struct{ locale, contact, want string }{
		{"de-AT", "", "de"},
		{"de-CH", "", "de-CH"},
		{"de_at", "", "de"},
		{"pt-BR", "", "pt-BR"},
		{"pt", "", "en"},    // pt-BR is not pt's fallback
		{"es-AR", "", "es"}, // es-AR -> es-419 -> es
		{"en-GB", "", "en"}, // en-GB -> en-001 -> en
		{"fr", "", "en"},
		{"zh-TW", "", "en"}, // CLDR: zh-TW -> zh-Hant, never simplified zh
		{"", "de-AT", "de"}, // the contact's locale when none is asked
		{"fr", "de", "en"},  // the asked locale wins over the contact's
		{"", "not a locale", "en"},
		{"", "", "en"},
	}
	for _, c := range cases {
		var ct *render.Contact
		if c.contact != "" {
			ct = &render.Contact{Locale: c.contact}
		}
		msg, err := render.Render(tmpl, nil, render.Context{Contact: ct}, c.locale)
		if err != nil {
			t.Errorf("%q/%q: %v", c.locale, c.contact, err)
			continue
		}
		if msg.Locale != c.want || msg.Subject != c.want {
			t.Errorf("locale %q contact %q: rendered %q (subject %q), want %q", c.locale, c.contact, msg.Locale, msg.Subject, c.want)
		}
	}
	// An invalid locale asked for explicitly is the caller's error.
	_, err := render.Render(tmpl, nil, render.Context{}, "klingon")
	wantError(t, err, "invalid_locale", "locale", "'klingon'")
}

func TestRenderMissingLayout(t *testing.T) {
	tmpl := mustTemplate(t, wire.EmailTemplatePut{DefaultLocale: "en", Layout: "base", Variants: map[string]wire.EmailTemplateVariant{"en": {Subject: "x", HTML: "y"}}})
	_, err := render.Render(tmpl, nil, render.Context{}, "")
	wantError(t, err, "missing_layout", "", "layout 'base', which does not exist")
}

func TestRenderRunaway(t *testing.T) {
	tmpl := mustTemplate(t, en(wire.EmailTemplateVariant{Subject: "x", Text: `{{range 100000000}}0123456789{{end}}`}))
	_, err := render.Render(tmpl, nil, render.Context{}, "")
	wantError(t, err, "render_failed", "", "variant 'en' text is larger than")
}

func TestRenderExecutionError(t *testing.T) {
	tmpl := mustTemplate(t, en(wire.EmailTemplateVariant{Subject: "x", Text: "\n{{index .data.items 5}}"}))
	_, err := render.Render(tmpl, nil, render.Context{Data: map[string]any{"items": []any{1}}}, "")
	wantError(t, err, "render_failed", "", "variant 'en' text", "line 2", "out of range")
}

func TestRenderNumbers(t *testing.T) {
	tmpl := mustTemplate(t, en(wire.EmailTemplateVariant{Subject: "x", Text: "{{.data.a}} {{.data.b}} {{.data.c}} {{.contact.metadata.n}}"}))
	d, err := render.DecodeData([]byte(`{"a": 12345678, "b": 19.90, "c": 1e3}`))
	if err != nil {
		t.Fatal(err)
	}
	// As sent with DecodeData; float64 (from a plain json.Unmarshal)
	// without exponent.
	msg, err := render.Render(tmpl, nil, render.Context{Data: d, Contact: &render.Contact{Metadata: map[string]any{"n": 1234567.0}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if msg.Text != "12345678 19.90 1e3 1234567" {
		t.Errorf("numbers printed as %q", msg.Text)
	}
	if _, err := render.DecodeData([]byte(`[1]`)); err == nil {
		t.Error("DecodeData accepted an array")
	}
}

func TestRenderTextOnly(t *testing.T) {
	layout := mustLayout(t, "<html><body>{{.content}}</body></html>")
	tmpl := mustTemplate(t, wire.EmailTemplatePut{DefaultLocale: "en", Layout: "base", Variants: map[string]wire.EmailTemplateVariant{"en": {Subject: "x", Text: "plain <b>{{.contact.name}}</b>"}}})
	msg, err := render.Render(tmpl, layout, render.Context{Contact: &render.Contact{Name: "A&B"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if msg.HTML != "" || msg.Text != "plain <b>A&B</b>" {
		t.Errorf("text-only variant: html %q text %q (text/template does not escape)", msg.HTML, msg.Text)
	}
}

// TestRenderConcurrent renders one parsed template from many goroutines
// (the email system shares parsed templates between sends; run with -race).
func TestRenderConcurrent(t *testing.T) {
	tmpl := mustTemplate(t, booking())
	layout := mustLayout(t, baseLayout)
	ctx := render.Context{Data: bookingData(t), Contact: contact("Ana", "de"), Tenant: tenant} // shared: Render must not write to it
	want, err := render.Render(tmpl, layout, ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			got, err := render.Render(tmpl, layout, ctx, "")
			if err == nil && got != want {
				err = errors.New("a concurrent render differs")
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestDecodeDataError(t *testing.T) {
	_, err := render.DecodeData([]byte(`"text"`))
	wantError(t, err, "invalid_data", "data", "data must be a JSON object")
	if m, err := render.DecodeData([]byte(" null ")); err != nil || len(m) != 0 {
		t.Errorf("null data: %v %v", m, err)
	}
}
