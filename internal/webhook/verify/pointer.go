package verify

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// RFC 6901 JSON pointers are written by hand: the whole of it is the ~0/~1
// unescaping and a walk over decoded JSON, smaller than a dependency.

func checkPointer(p string) error {
	if p == "" {
		return nil
	}
	if !strings.HasPrefix(p, "/") {
		return errors.New("a JSON pointer starts with \"/\" (RFC 6901), e.g. \"/id\"")
	}
	for _, tok := range strings.Split(p[1:], "/") {
		for i := 0; i < len(tok); i++ {
			if tok[i] == '~' && (i+1 == len(tok) || (tok[i+1] != '0' && tok[i+1] != '1')) {
				return errors.New("\"~\" in a JSON pointer must be followed by 0 or 1")
			}
		}
	}
	return nil
}

func unescapeToken(t string) string {
	return strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
}

// isForm reports whether the request body is application/x-www-form-urlencoded.
func isForm(h map[string][]string) bool {
	var ct string
	for k, v := range h {
		if strings.EqualFold(k, "Content-Type") && len(v) > 0 {
			ct = v[0]
		}
	}
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == "application/x-www-form-urlencoded"
}

// lookupPointer returns the value at pointer p in the body as a string. A
// form-encoded body is looked up as a flat object of its fields ("/From").
// A missing value is "", a body that cannot be parsed is bad_body.
func lookupPointer(req Request, p string) (string, *Error) {
	if isForm(req.Header) {
		vals, err := url.ParseQuery(string(req.Body))
		if err != nil {
			return "", fail(CodeBadBody, "form body does not parse: %v", err)
		}
		return vals.Get(unescapeToken(strings.TrimPrefix(p, "/"))), nil
	}
	doc, err := decodeJSON(req.Body)
	if err != nil {
		return "", err
	}
	return pointerString(doc, p), nil
}

func decodeJSON(body []byte) (any, *Error) {
	d := json.NewDecoder(bytes.NewReader(markInvalidUTF8(body)))
	d.UseNumber()
	var doc any
	if err := d.Decode(&doc); err != nil {
		return nil, fail(CodeBadBody, "body is not valid JSON: %v", err)
	}
	if d.More() {
		return nil, fail(CodeBadBody, "body has data after the JSON value")
	}
	return doc, nil
}

// pointerString resolves p in doc: strings as they are, numbers and booleans
// as written, objects and arrays as compact JSON, missing or null as "".
func pointerString(doc any, p string) string {
	v := resolve(doc, p)
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

func resolve(doc any, p string) any {
	if p == "" {
		return doc
	}
	cur := doc
	for _, tok := range strings.Split(p[1:], "/") {
		tok = unescapeToken(tok)
		switch c := cur.(type) {
		case map[string]any:
			cur = c[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) || (len(tok) > 1 && tok[0] == '0') {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

// markInvalidUTF8 turns each byte of body that is not UTF-8 into the JSON
// escape of NUL. encoding/json would silently replace such a byte with
// U+FFFD, so two different ids could decode to one; as NUL, a value
// holding one is seen as not text (store.ValidText) and refused or
// ignored, never merged with another. Outside a string it stays a syntax
// error, as the byte itself was.
func markInvalidUTF8(body []byte) []byte {
	if utf8.Valid(body) {
		return body
	}
	out := make([]byte, 0, len(body)+16)
	for i := 0; i < len(body); {
		r, size := utf8.DecodeRune(body[i:])
		if r == utf8.RuneError && size == 1 {
			out = append(out, `\u0000`...)
		} else {
			out = append(out, body[i:i+size]...)
		}
		i += size
	}
	return out
}
