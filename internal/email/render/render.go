package render

import (
	"bytes"
	"encoding/json"
	"html"
	htmltemplate "html/template"
	"math"
	"regexp"
	"strconv"
	"strings"
	texttemplate "text/template"

	"github.com/inbucket/html2text"
	"github.com/vanng822/go-premailer/premailer"
	"golang.org/x/text/language"
)

// maxPartBytes bounds each rendered part (subject, preheader, HTML before
// and after the layout, text): a guard against a template whose loops run
// away, well above any email a provider accepts.
const maxPartBytes = 16 << 20

// Context is what a template sees: {{.data}}, {{.contact}}, {{.tenant}};
// Render adds {{.locale}}, the canonical tag of the variant rendered (for
// <html lang="{{.locale}}">).
type Context struct {
	// Data is the send's data (any JSON object); nil is an empty object.
	// Numbers print as they were sent when decoded with DecodeData
	// (json.Number); float64 values print without an exponent.
	Data map[string]any
	// Contact is the recipient contact, nil when the send has none (then
	// {{.contact.name}} is a missing variable).
	Contact *Contact
	// Tenant is the sending tenant.
	Tenant Tenant
}

// Contact is a contact as templates see it: {{.contact.external_id}},
// {{.contact.email}}, {{.contact.name}}, {{.contact.locale}},
// {{.contact.timezone}}, {{.contact.metadata.x}}.
type Contact struct {
	ExternalID string
	Email      string
	Name       string
	Locale     string
	Timezone   string
	Metadata   map[string]any
}

// Tenant is a tenant as templates see it: {{.tenant.slug}},
// {{.tenant.name}}.
type Tenant struct {
	Slug string
	Name string
}

// Message is a rendered email.
type Message struct {
	// Subject is one line, trimmed, never empty.
	Subject string
	// Preheader is the rendered preview text (also inside HTML), or "".
	Preheader string
	// HTML is the complete HTML document with CSS inlined, or "" for a
	// text-only variant.
	HTML string
	// Text is the plain-text part: the variant's own, else derived from
	// the HTML.
	Text string
	// Locale is the canonical tag of the variant rendered.
	Locale string
}

// DecodeData decodes a JSON object for Context.Data or Contact.Metadata,
// keeping numbers as json.Number so that they print exactly as sent
// (12345678, not 1.2345678e+07). Empty input or null is an empty object.
func DecodeData(raw []byte) (map[string]any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, newError(CodeInvalidData, "data", "data must be a JSON object: %v", err)
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// Resolve names the variant Render uses for locale: the tag itself, then
// its CLDR parents (de-AT, de; en-GB, en-001, en), then the template's
// default locale. An empty locale is the default; an invalid one is an
// invalid_locale error naming field.
func (t *Template) Resolve(locale, field string) (string, error) {
	if locale == "" {
		return t.defaultLocale, nil
	}
	tag, err := parseLocale(locale, field)
	if err != nil {
		return "", err
	}
	return t.resolveTag(tag), nil
}

func (t *Template) resolveTag(tag language.Tag) string {
	for ; !tag.IsRoot(); tag = tag.Parent() {
		if _, ok := t.variants[tag.String()]; ok {
			return tag.String()
		}
	}
	return t.defaultLocale
}

// Render renders tmpl for ctx in locale: the variant is chosen by
// Resolve from locale, or when locale is empty from the contact's locale
// (ignored when it is not a valid tag). layout is the parsed layout that
// tmpl.Layout() names, nil when it names none (a template that names one
// and gets nil is a missing_layout error); a non-nil layout is used
// whatever the template names, and a variant without HTML ignores it.
// Render does not modify ctx, and one Template or Layout may be rendered
// from many goroutines at once.
//
// The subject, preheader and text use text/template, the HTML
// html/template (every value escaped for where it lands). A value the
// context lacks is a missing_variable error naming its path
// ("data.booking_id is missing"); a subject that holds CR or LF once
// rendered is refused (invalid_subject). The HTML is wrapped in the layout
// through {{.content}}, the preheader is inserted as a hidden element at
// the top of the body, and the CSS of <style> elements is inlined into
// style attributes. With no text part, one is derived from the HTML.
func Render(tmpl *Template, layout *Layout, ctx Context, locale string) (Message, error) {
	var loc string
	switch {
	case locale != "":
		l, err := tmpl.Resolve(locale, "locale")
		if err != nil {
			return Message{}, err
		}
		loc = l
	case ctx.Contact != nil && ctx.Contact.Locale != "":
		if tag, err := language.Parse(ctx.Contact.Locale); err == nil {
			loc = tmpl.resolveTag(tag)
		} else {
			loc = tmpl.defaultLocale
		}
	default:
		loc = tmpl.defaultLocale
	}
	v := tmpl.variants[loc]
	if tmpl.layout != "" && layout == nil && v.html != nil {
		return Message{}, newError(CodeMissingLayout, "", "template uses layout '%s', which does not exist; create it with PUT /v1/email/layouts/%s", tmpl.layout, tmpl.layout)
	}
	data := contextMap(ctx, loc)
	what := func(part string) string { return "variant '" + v.key + "' " + part }

	msg := Message{Locale: loc}
	subject, err := execText(v.subject, data, what("subject"))
	if err != nil {
		return Message{}, err
	}
	if strings.ContainsAny(subject, "\r\n") {
		return Message{}, newError(CodeInvalidSubject, "", "the rendered subject of %s holds a line break (CR or LF); a subject is one header line, so the values it uses must not contain line breaks", "variant '"+v.key+"'")
	}
	msg.Subject = strings.TrimSpace(subject)
	if msg.Subject == "" {
		return Message{}, newError(CodeInvalidSubject, "", "the rendered subject of %s is empty; check the values it uses", "variant '"+v.key+"'")
	}
	if v.preheader != nil {
		p, err := execText(v.preheader, data, what("preheader"))
		if err != nil {
			return Message{}, err
		}
		msg.Preheader = strings.Join(strings.Fields(p), " ")
	}
	var page string // the HTML with layout, before preheader and inlining
	if v.html != nil {
		content, err := execHTML(v.html, data, what("html"))
		if err != nil {
			return Message{}, err
		}
		page = content
		if layout != nil {
			ld := make(map[string]any, len(data)+2)
			for k, x := range data {
				ld[k] = x
			}
			ld["content"] = htmltemplate.HTML(content)
			ld["subject"] = msg.Subject
			if page, err = execHTML(layout.tmpl, ld, "layout '"+layout.name+"'"); err != nil {
				return Message{}, err
			}
		}
		if msg.HTML, err = finishHTML(page, msg.Preheader); err != nil {
			return Message{}, err
		}
	}
	if v.text != nil {
		if msg.Text, err = execText(v.text, data, what("text")); err != nil {
			return Message{}, err
		}
	} else if msg.Text, err = htmlToText(page); err != nil {
		return Message{}, err
	}
	return msg, nil
}

// contextMap builds the template's root: maps all the way down, so that a
// misspelt or absent name is a missing key (an error under
// missingkey=error) rather than an empty value.
func contextMap(ctx Context, locale string) map[string]any {
	data := normalize(ctx.Data)
	if data == nil {
		data = map[string]any{}
	}
	m := map[string]any{
		"data":   data,
		"tenant": map[string]any{"slug": ctx.Tenant.Slug, "name": ctx.Tenant.Name},
		"locale": locale,
	}
	if c := ctx.Contact; c != nil {
		meta := normalize(c.Metadata)
		if meta == nil {
			meta = map[string]any{}
		}
		m["contact"] = map[string]any{
			"external_id": c.ExternalID, "email": c.Email, "name": c.Name,
			"locale": c.Locale, "timezone": c.Timezone, "metadata": meta,
		}
	}
	return m
}

// normalize copies a decoded JSON object, turning float64 numbers into
// json.Number so they print as written (fmt prints 1234567.0 as
// 1.234567e+06). The caller's map is not modified.
func normalize(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = normalizeValue(v)
	}
	return out
}

func normalizeValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return normalize(v)
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = normalizeValue(x)
		}
		return out
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return v
		}
		return json.Number(strconv.FormatFloat(v, 'f', -1, 64))
	}
	return v
}

func execText(t *texttemplate.Template, data any, what string) (string, error) {
	w := &limitWriter{max: maxPartBytes}
	if err := t.Execute(w, data); err != nil {
		return "", execError(what, err)
	}
	return w.b.String(), nil
}

func execHTML(t *htmltemplate.Template, data any, what string) (string, error) {
	w := &limitWriter{max: maxPartBytes}
	if err := t.Execute(w, data); err != nil {
		return "", execError(what, err)
	}
	return w.b.String(), nil
}

// bodyTagRE finds the opening body tag the layout wrote. Values from the
// context cannot forge one: html/template escapes their "<".
var bodyTagRE = regexp.MustCompile(`(?i)<body(?:\s[^>]*)?>`)

// preheaderFiller follows the preview text so that inboxes which show
// more characters do not fill the preview with the start of the body.
var preheaderFiller = strings.Repeat("&#847;&zwnj;&nbsp;", 30)

// finishHTML inserts the preheader as the usual hidden preview-text
// element at the top of the body and inlines the CSS of <style> elements
// into style attributes (mail clients such as Gmail drop or mangle
// <style>); rules that cannot be inlined (media queries, :hover) stay in
// a <style> element.
func finishHTML(page, preheader string) (string, error) {
	if preheader != "" {
		el := `<div style="display:none;font-size:1px;line-height:1px;max-height:0;max-width:0;opacity:0;overflow:hidden;mso-hide:all">` +
			html.EscapeString(preheader) + preheaderFiller + `</div>`
		if loc := bodyTagRE.FindStringIndex(page); loc != nil {
			page = page[:loc[1]] + el + page[loc[1]:]
		} else {
			page = el + page
		}
	}
	p, err := premailer.NewPremailerFromString(page, premailer.NewOptions())
	if err != nil {
		return "", newError(CodeRenderFailed, "", "the rendered HTML could not be parsed to inline its CSS: %v", err)
	}
	out, err := p.Transform()
	if err != nil {
		return "", newError(CodeRenderFailed, "", "the CSS of the rendered HTML could not be inlined: %v", err)
	}
	if !strings.HasPrefix(strings.ToLower(out), "<!doctype") {
		out = "<!DOCTYPE html>\n" + out
	}
	return out, nil
}

var (
	trailingSpaceRE = regexp.MustCompile(`[ \t]+\n`)
	blankLinesRE    = regexp.MustCompile(`\n{3,}`)
)

// htmlToText derives a plain-text part from rendered HTML: block
// elements and table rows on their own lines, list items as "* item",
// links as "text ( url )" (the URL alone when it is the text), bold as
// *bold*, head, style and script left out.
//
// It uses inbucket/html2text, the converter go-premailer itself uses,
// which walks the parsed document. k3a/html2text, a scanner over the
// markup, was tried first and lost text an email template easily holds:
// everything after an <a> without href, the line breaks between <div>s
// and table cells (layouts are tables), and it printed the entities of
// <title>.
func htmlToText(page string) (string, error) {
	if page == "" {
		return "", nil
	}
	t, err := html2text.FromString(page, html2text.Options{})
	if err != nil {
		return "", newError(CodeRenderFailed, "", "the text part could not be derived from the rendered HTML: %v", err)
	}
	t = trailingSpaceRE.ReplaceAllString(t, "\n")
	t = blankLinesRE.ReplaceAllString(t, "\n\n")
	return strings.TrimSpace(t) + "\n", nil
}
