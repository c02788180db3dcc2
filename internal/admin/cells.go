package admin

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/url"
	"slices"
	"strings"
)

// Template helpers that keep long values readable in a table cell at
// 1280 px: ids shortened on screen with a copy button, URLs broken only
// after the host, dotted names (actions, kinds) only after a "." or "_",
// audit details as key/value pairs.

// idTail is how many last characters of an id stay visible: with the type
// prefix and the start, enough to tell ids apart at a glance.
const idTail = 4

// idCell shows a long id on one line as its start, an ellipsis and its
// last characters (the full id is the element's text, for search, selection
// and tests; title shows it on hover), with a button copying it whole.
func idCell(id string) template.HTML {
	if len(id) <= 14 {
		return template.HTML(`<code class="id">` + template.HTMLEscapeString(id) + `</code>`)
	}
	head, tail := id[:len(id)-idTail], id[len(id)-idTail:]
	e := template.HTMLEscapeString
	return template.HTML(fmt.Sprintf(`<span class="id" title="%s"><code><span class="id-head">%s</span><span class="id-tail">%s</span></code>`+
		`<button type="button" class="copy" data-copy-text="%s" aria-label="Copy %s" title="Copy">`+copyIcon+`</button></span>`,
		e(id), e(head), e(tail), e(id), e(id)))
}

// copyIcon is two overlapping sheets, drawn (no font has to have a glyph).
const copyIcon = `<svg viewBox="0 0 16 16" aria-hidden="true"><rect x="5" y="5" width="9" height="9" rx="1.5" fill="none" stroke="currentColor" stroke-width="1.5"/>` +
	`<path d="M3 11V3.5A1.5 1.5 0 0 1 4.5 2H11" fill="none" stroke="currentColor" stroke-width="1.5"/></svg>`

// urlCell shows a URL with its scheme and host kept whole on one line and
// the rest allowed to wrap after each "/", "?" or "&".
func urlCell(raw string) template.HTML {
	e := template.HTMLEscapeString
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return template.HTML(`<code class="url">` + e(raw) + `</code>`)
	}
	origin := u.Scheme + "://" + u.Host
	rest := strings.TrimPrefix(raw, origin)
	var b strings.Builder
	b.WriteString(`<code class="url" title="` + e(raw) + `"><span class="host">` + e(origin) + `</span>`)
	for _, r := range rest {
		b.WriteString(e(string(r)))
		if r == '/' || r == '?' || r == '&' {
			b.WriteString("<wbr>")
		}
	}
	b.WriteString(`</code>`)
	return template.HTML(b.String())
}

// nameWhole is the length up to which a name (nameCell) always stays on
// one line: "http_push", "key.create", "operator.create".
const nameWhole = 16

// nameCell shows a dotted or snake_case name (an audit action such as
// "notification_preferences.update", a job kind such as "notify_fanout")
// as code. A short one stays on one line; a longer one may wrap after a "."
// or "_", and only when its column needs the room, rather than widen its
// table past the page.
func nameCell(name string) template.HTML {
	e := template.HTMLEscapeString
	if len(name) <= nameWhole {
		return template.HTML(`<code class="action">` + e(name) + `</code>`)
	}
	var b strings.Builder
	b.WriteString(`<code class="dotted" title="` + e(name) + `">`)
	for _, r := range name {
		b.WriteString(e(string(r)))
		if r == '.' || r == '_' {
			b.WriteString("<wbr>")
		}
	}
	b.WriteString(`</code>`)
	return template.HTML(b.String())
}

// detailsCell shows a JSON object (an audit entry's summary) as key/value
// pairs, nested keys joined with dots ("after.name"), instead of raw JSON.
func detailsCell(raw json.RawMessage) template.HTML {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
		return template.HTML(`<code>` + template.HTMLEscapeString(string(raw)) + `</code>`)
	}
	var rows [][2]string
	flatten("", v, &rows)
	if len(rows) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(`<dl class="kv">`)
	for _, r := range rows {
		b.WriteString(`<dt>` + template.HTMLEscapeString(r[0]) + `</dt><dd>` + template.HTMLEscapeString(r[1]) + `</dd>`)
	}
	b.WriteString(`</dl>`)
	return template.HTML(b.String())
}

func flatten(prefix string, v any, rows *[][2]string) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			name := k
			if prefix != "" {
				name = prefix + "." + k
			}
			flatten(name, x[k], rows)
		}
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			if s, ok := e.(string); ok {
				parts[i] = s
			} else {
				b, _ := json.Marshal(e)
				parts[i] = string(b)
			}
		}
		*rows = append(*rows, [2]string{prefix, strings.Join(parts, ", ")})
	case nil:
		*rows = append(*rows, [2]string{prefix, "none"})
	case string:
		if x == "" {
			x = `""`
		}
		*rows = append(*rows, [2]string{prefix, x})
	default:
		b, _ := json.Marshal(x)
		*rows = append(*rows, [2]string{prefix, string(b)})
	}
}
