package render

import (
	"errors"
	"fmt"
	htmltemplate "html/template"
	"regexp"
	"strings"

	"github.com/joist-dev/joist/internal/core"
)

// Stable error codes.
const (
	// CodeInvalidTemplate: a template cannot be saved (syntax error,
	// missing subject, no variant for the default locale, ...).
	CodeInvalidTemplate = "invalid_template"
	// CodeInvalidLayout: a layout cannot be saved (syntax error, no
	// {{.content}}).
	CodeInvalidLayout = "invalid_layout"
	// CodeInvalidLocale: a locale is not a BCP 47 tag joist knows.
	CodeInvalidLocale = "invalid_locale"
	// CodeInvalidData: the data given to DecodeData is not a JSON object.
	CodeInvalidData = "invalid_data"
	// CodeMissingVariable: the template uses a value the context lacks.
	CodeMissingVariable = "missing_variable"
	// CodeInvalidSubject: the rendered subject is empty or holds a line
	// break (header injection).
	CodeInvalidSubject = "invalid_subject"
	// CodeRenderFailed: executing the template failed otherwise (a
	// function given the wrong type, output too large, ...).
	CodeRenderFailed = "render_failed"
	// CodeMissingLayout: the template names a layout and none was given.
	CodeMissingLayout = "missing_layout"
)

// Unprocessable reports whether err is a render error that the API answers
// with 422: the template is valid but the data given does not fit it.
func Unprocessable(err error) bool {
	var ce *core.Error
	if !errors.As(err, &ce) {
		return false
	}
	switch ce.Code {
	case CodeMissingVariable, CodeInvalidSubject, CodeRenderFailed, CodeMissingLayout:
		return true
	}
	return false
}

func newError(code, field, format string, args ...any) error {
	return &core.Error{Kind: core.ErrInvalid, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// parseErrRE matches what text/template and html/template say about a
// template named after its field: "template: NAME:LINE: msg",
// "template: NAME:LINE:COL: msg" or "html/template:NAME:LINE:COL: msg".
var parseErrRE = regexp.MustCompile(`^(?:html/)?template: ?([^:]+):(\d+):(?:\d+:)? ?(.*)$`)

// syntaxError turns a parse or escaping error of the template named field
// into an error naming the field and line.
func syntaxError(code, field, what string, err error) error {
	msg := err.Error()
	if m := parseErrRE.FindStringSubmatch(msg); m != nil {
		return newError(code, field, "%s has a template error on line %s: %s", what, m[2], m[3])
	}
	return newError(code, field, "%s has a template error: %s", what, strings.TrimPrefix(msg, "template: "))
}

// escapeError reports what html/template's escaper refused, without the
// escaper's internal state that its message ends with.
func escapeError(code, field, what string, he *htmltemplate.Error) error {
	if he.ErrorCode == htmltemplate.ErrEndContext {
		return newError(code, field, "%s ends inside a tag, attribute, quoted value, comment or script that is never closed; close it so values are escaped for the right place", what)
	}
	desc := he.Description
	if i := strings.Index(desc, ": {"); i >= 0 {
		desc = desc[:i]
	}
	if he.Line > 0 {
		return newError(code, field, "%s has a template error on line %d: %s", what, he.Line, desc)
	}
	return newError(code, field, "%s has a template error: %s", what, desc)
}

// execErrRE matches an execution error of text/template (html/template
// reports the same): `template: NAME:LINE:COL: executing "NAME" at
// <.data.x>: msg`.
var execErrRE = regexp.MustCompile(`^template: [^:]+:(\d+):\d+: executing "[^"]*" at <([^>]*)>: (.*)$`)

var missingKeyRE = regexp.MustCompile(`^map has no entry for key "(.*)"$`)

// execError turns an execution error of the part `what` into a
// missing_variable error naming the variable's path when a map lookup
// failed, else a render_failed error naming the part and line.
func execError(what string, err error) error {
	var lw *limitError
	if errors.As(err, &lw) {
		return newError(CodeRenderFailed, "", "%s is larger than %d MiB once rendered; look for a loop that runs away", what, maxPartBytes>>20)
	}
	m := execErrRE.FindStringSubmatch(err.Error())
	if m == nil {
		return newError(CodeRenderFailed, "", "%s could not be rendered: %s", what, strings.TrimPrefix(err.Error(), "template: "))
	}
	line, node, msg := m[1], m[2], m[3]
	if k := missingKeyRE.FindStringSubmatch(msg); k != nil {
		path := missingPath(node, k[1])
		return newError(CodeMissingVariable, path, "%s is missing: %s uses {{%s}} on line %s; %s",
			path, what, node, line, missingHint(path))
	}
	if strings.HasPrefix(msg, "nil data; no entry for key") {
		return newError(CodeMissingVariable, "", "%s uses {{%s}} on line %s, and the context is empty", what, node, line)
	}
	return newError(CodeRenderFailed, "", "%s could not be rendered: line %s at {{%s}}: %s", what, line, node, msg)
}

// missingPath cuts a field chain such as ".data.booking.id" at the key
// that was missing ("booking"), giving "data.booking".
func missingPath(node, key string) string {
	segs := strings.Split(strings.TrimPrefix(node, "."), ".")
	for i, s := range segs {
		if s == key {
			return strings.Join(segs[:i+1], ".")
		}
	}
	// The lookup came from somewhere else ($x.key, index): name the key.
	return strings.TrimPrefix(node+"."+key, ".")
}

// missingHint says how to fix a missing value at path.
func missingHint(path string) string {
	switch {
	case path == "contact":
		return "send the email to a contact, or leave {{.contact}} out of the template"
	case strings.HasPrefix(path, "data."):
		i := strings.LastIndexByte(path, '.')
		return fmt.Sprintf("pass it in data, or make it optional with {{with index .%s %q}}...{{end}}", path[:i], path[i+1:])
	case strings.HasPrefix(path, "contact.metadata."):
		return "set it in the contact's metadata, or make it optional with index"
	}
	return "the template context has data, contact (external_id, email, name, locale, timezone, metadata), tenant (slug, name), and in a layout content and subject"
}

// limitError is returned by limitWriter past its limit.
type limitError struct{}

func (*limitError) Error() string { return "rendered output too large" }

// limitWriter is a strings.Builder that refuses to grow past max bytes,
// so a template looping over its own output cannot exhaust memory.
type limitWriter struct {
	b   strings.Builder
	max int
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.max {
		return 0, &limitError{}
	}
	return w.b.Write(p)
}
