package render

import (
	htmltemplate "html/template"
	"io"
	"sort"
	"strings"
	texttemplate "text/template"
	"text/template/parse"

	"golang.org/x/text/language"

	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// Template is a parsed, validated email template: ready to render in any
// of its locales. It is safe for concurrent use.
type Template struct {
	defaultLocale string
	layout        string
	variants      map[string]*variant // by canonical BCP 47 tag
}

// variant is one locale's parsed parts; nil parts were not given.
type variant struct {
	locale    string // canonical tag
	key       string // the tag as the template spelled it, for messages
	subject   *texttemplate.Template
	preheader *texttemplate.Template
	html      *htmltemplate.Template
	text      *texttemplate.Template
}

// DefaultLocale is the canonical tag of the template's default locale.
func (t *Template) DefaultLocale() string { return t.defaultLocale }

// Layout is the name of the layout the HTML is wrapped in, or "".
func (t *Template) Layout() string { return t.layout }

// Locales lists the canonical tags of the template's variants, sorted.
func (t *Template) Locales() []string {
	out := make([]string, 0, len(t.variants))
	for l := range t.variants {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// Validate checks a template the way ParseTemplate does, for a save.
func Validate(w wire.EmailTemplatePut) error {
	_, err := ParseTemplate(w)
	return err
}

// ParseTemplate validates a template and parses every part of every
// variant, so that a template that saves also renders (given the data it
// uses). Locales are BCP 47 tags, compared in canonical form ("de-at" is
// "de-AT"); the default locale must have a variant and every variant a
// subject and an HTML or text body. The first problem found is returned as
// a *core.Error naming the field ("variants.de.html") and, for syntax
// errors, the line; locales are checked in sorted order so the same input
// always gives the same error.
func ParseTemplate(w wire.EmailTemplatePut) (*Template, error) {
	if w.DefaultLocale == "" {
		return nil, newError(CodeInvalidTemplate, "default_locale", "default_locale is required: the locale (a BCP 47 tag such as \"en\") used when no variant fits the requested one")
	}
	def, err := parseLocale(w.DefaultLocale, "default_locale")
	if err != nil {
		return nil, err
	}
	if !store.ValidText(w.Layout) {
		return nil, core.InvalidText("layout")
	}
	if len(w.Variants) == 0 {
		return nil, newError(CodeInvalidTemplate, "variants", "variants is empty: give at least the default locale's variant, e.g. {\"%s\": {\"subject\": ..., \"html\": ...}}", w.DefaultLocale)
	}
	keys := make([]string, 0, len(w.Variants))
	for k := range w.Variants {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t := &Template{defaultLocale: def.String(), layout: w.Layout, variants: make(map[string]*variant, len(keys))}
	for _, key := range keys {
		tag, err := parseLocale(key, "variants."+key)
		if err != nil {
			return nil, err
		}
		locale := tag.String()
		if other, dup := t.variants[locale]; dup {
			return nil, newError(CodeInvalidLocale, "variants."+key, "variants '%s' and '%s' are the same locale (%s); keep one", other.key, key, locale)
		}
		v, err := parseVariant(key, locale, w.Variants[key])
		if err != nil {
			return nil, err
		}
		t.variants[locale] = v
	}
	if _, ok := t.variants[t.defaultLocale]; !ok {
		return nil, newError(CodeInvalidTemplate, "default_locale", "the default locale '%s' has no variant (the template has %s); add one or pick one of those as default_locale", w.DefaultLocale, strings.Join(t.Locales(), ", "))
	}
	return t, nil
}

// parseLocale parses a BCP 47 tag; field names it in errors.
func parseLocale(s, field string) (language.Tag, error) {
	if !store.ValidText(s) {
		return language.Und, core.InvalidText(field)
	}
	tag, err := language.Parse(s)
	if err == nil {
		if _, conf := tag.Base(); tag.IsRoot() || conf == language.No {
			err = errNoLanguage
		}
	}
	if err != nil {
		return language.Und, newError(CodeInvalidLocale, field, "'%s' (%s) is not a BCP 47 language tag joist knows, such as \"en\", \"de\", \"de-AT\" or \"pt-BR\"", s, field)
	}
	return tag, nil
}

var errNoLanguage = &core.Error{Kind: core.ErrInvalid, Code: CodeInvalidLocale, Message: "no language"}

func parseVariant(key, locale string, w wire.EmailTemplateVariant) (*variant, error) {
	prefix := "variants." + key + "."
	for _, f := range []struct{ name, val string }{{"subject", w.Subject}, {"preheader", w.Preheader}, {"html", w.HTML}, {"text", w.Text}} {
		if !store.ValidText(f.val) {
			return nil, core.InvalidText(prefix + f.name)
		}
	}
	v := &variant{locale: locale, key: key}
	what := func(part string) string { return "variant '" + key + "' " + part }
	if strings.TrimSpace(w.Subject) == "" {
		return nil, newError(CodeInvalidTemplate, prefix+"subject", "%s is required", what("subject"))
	}
	if w.HTML == "" && w.Text == "" {
		return nil, newError(CodeInvalidTemplate, prefix+"html", "%s has no body: give html, text or both", "variant '"+v.key+"'")
	}
	var err error
	if v.subject, err = parseText(prefix+"subject", what("subject"), w.Subject); err != nil {
		return nil, err
	}
	if w.Preheader != "" {
		if v.preheader, err = parseText(prefix+"preheader", what("preheader"), w.Preheader); err != nil {
			return nil, err
		}
	}
	if w.HTML != "" {
		if v.html, err = parseHTML(CodeInvalidTemplate, prefix+"html", what("html"), w.HTML); err != nil {
			return nil, err
		}
	}
	if w.Text != "" {
		if v.text, err = parseText(prefix+"text", what("text"), w.Text); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func parseText(field, what, src string) (*texttemplate.Template, error) {
	t, err := texttemplate.New(field).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, syntaxError(CodeInvalidTemplate, field, what, err)
	}
	return t, nil
}

// parseHTML parses html/template source and runs its contextual escaper
// now rather than at the first send: html/template escapes on the first
// Execute, so one is started with a writer that fails at once. Escaping
// errors (an action in an ambiguous context, an unclosed tag) come back as
// *htmltemplate.Error before anything executes; whatever error comes after
// is the failing writer's, or a missing value, and is ignored.
func parseHTML(code, field, what, src string) (*htmltemplate.Template, error) {
	t, err := htmltemplate.New(field).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, syntaxError(code, field, what, err)
	}
	err = t.Execute(failWriter{}, nil)
	if he, ok := err.(*htmltemplate.Error); ok {
		return nil, escapeError(code, field, what, he)
	}
	return t, nil
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, io.ErrShortWrite }

// Layout is a parsed layout: HTML that places a variant's rendered HTML
// with {{.content}}. It is safe for concurrent use.
type Layout struct {
	name string
	tmpl *htmltemplate.Template
}

// Name is the layout's name.
func (l *Layout) Name() string { return l.name }

// ParseLayout validates and parses a layout's HTML (html/template syntax).
// It must use {{.content}}, where the variant's HTML goes; it may also use
// {{.subject}}, {{.locale}}, {{.data}}, {{.contact}} and {{.tenant}}.
func ParseLayout(name, html string) (*Layout, error) {
	if !store.ValidText(html) {
		return nil, core.InvalidText("html")
	}
	what := "layout '" + name + "'"
	if strings.TrimSpace(html) == "" {
		return nil, newError(CodeInvalidLayout, "html", "%s html is required", what)
	}
	t, err := parseHTML(CodeInvalidLayout, "html", what, html)
	if err != nil {
		return nil, err
	}
	if !usesContent(t.Tree.Root) {
		return nil, newError(CodeInvalidLayout, "html", "%s never uses {{.content}}: put {{.content}} where each email's own HTML goes", what)
	}
	return &Layout{name: name, tmpl: t}, nil
}

// usesContent reports whether the parse tree refers to .content anywhere.
func usesContent(n parse.Node) bool {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return false
		}
		for _, c := range n.Nodes {
			if usesContent(c) {
				return true
			}
		}
	case *parse.ActionNode:
		return usesContent(n.Pipe)
	case *parse.PipeNode:
		if n == nil {
			return false
		}
		for _, c := range n.Cmds {
			if usesContent(c) {
				return true
			}
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			if usesContent(a) {
				return true
			}
		}
	case *parse.FieldNode:
		return len(n.Ident) > 0 && n.Ident[0] == "content"
	case *parse.IfNode:
		return usesContent(n.Pipe) || usesContent(n.List) || usesContent(n.ElseList)
	case *parse.WithNode:
		return usesContent(n.Pipe) || usesContent(n.List) || usesContent(n.ElseList)
	case *parse.RangeNode:
		return usesContent(n.Pipe) || usesContent(n.List) || usesContent(n.ElseList)
	}
	return false
}
