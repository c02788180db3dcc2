package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
)

// One rule for text joist stores or looks up: valid UTF-8 without NUL
// (store.ValidText), on both stores alike. It is applied at the edge of
// every route, before anything reads the store: the path, the query
// string, the headers joist keeps or looks up, and every string (keys
// included) of a JSON body. A violation is 400 invalid_text whose field
// member says where. Raw bodies a route keeps as bytes (inbound webhooks)
// are not text and are not checked.

// storedHeaders are the request headers joist stores or looks up.
var storedHeaders = []string{"Idempotency-Key", "Joist-Tenant"}

// checkRequestText checks the path values of pattern (or the whole path
// when pattern has none), the query string and the stored headers.
func checkRequestText(r *http.Request, pattern string) error {
	names := wildcards(pattern)
	if len(names) == 0 && !store.ValidText(r.URL.Path) {
		return core.InvalidText("path")
	}
	for _, n := range names {
		if !store.ValidText(r.PathValue(n)) {
			return core.InvalidText("path." + n)
		}
	}
	if err := CheckValues("query.", r.URL.Query()); err != nil {
		return err
	}
	for _, h := range storedHeaders {
		if v := r.Header.Get(h); v != "" && !store.ValidText(v) {
			return core.InvalidText("header." + h)
		}
	}
	return nil
}

// CheckValues checks every key and value of a query string or form; field
// names start with prefix ("query.", "form.").
func CheckValues(prefix string, vs map[string][]string) error {
	for k, list := range vs {
		if !store.ValidText(k) {
			return core.InvalidText(prefix + "(a parameter name)")
		}
		for _, v := range list {
			if !store.ValidText(v) {
				return core.InvalidText(prefix + k)
			}
		}
	}
	return nil
}

// wildcards lists the {names} of a ServeMux pattern.
func wildcards(pattern string) []string {
	var out []string
	for {
		i := strings.IndexByte(pattern, '{')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(pattern[i:], '}')
		if j < 0 {
			return out
		}
		out = append(out, strings.TrimSuffix(pattern[i+1:i+j], "..."))
		pattern = pattern[i+j+1:]
	}
}

// checkJSONText finds the first string of body (a key or a value, at any
// depth) that is not valid text, and names it by its path ("name",
// "metadata.plan", "to[1]"). A body that is not valid JSON passes: the
// decoder reports that.
func checkJSONText(body []byte) error {
	bad := -1
	if !utf8.Valid(body) {
		bad = firstInvalid(body)
	} else if !bytes.Contains(body, []byte(`\u0000`)) {
		return nil // NUL can only arrive escaped: a raw one is a syntax error
	}
	type frame struct {
		object, wantKey bool
		key             string
		index           int
	}
	var stack []frame
	path := func(last string) string {
		var b strings.Builder
		for _, f := range stack {
			switch {
			case f.object && !f.wantKey:
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			case !f.object:
				fmt.Fprintf(&b, "[%d]", f.index)
			}
		}
		if last != "" {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(last)
		}
		if b.Len() == 0 {
			return "body"
		}
		return b.String()
	}
	// valueDone moves the innermost container past the value just read.
	valueDone := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].object {
				stack[n-1].wantKey = true
			} else {
				stack[n-1].index++
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		after := dec.InputOffset()
		invalid := func(s string) bool {
			return (bad >= 0 && int64(bad) >= before && int64(bad) < after) || strings.IndexByte(s, 0) >= 0
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, frame{object: true, wantKey: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
				if invalid(v) {
					return core.InvalidText(path("") + " (a key)")
				}
				stack[n-1].key, stack[n-1].wantKey = v, false
				continue
			}
			if invalid(v) {
				return core.InvalidText(path(""))
			}
			valueDone()
		default:
			valueDone()
		}
	}
}

// firstInvalid is the offset of the first byte of b that is not valid UTF-8.
func firstInvalid(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}
