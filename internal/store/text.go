package store

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ValidText reports whether s is text both stores keep as it is: valid
// UTF-8 without NUL. PostgreSQL refuses NUL in text and jsonb and refuses
// invalid UTF-8; SQLite would keep the NUL and let a reader replace the
// rest, so joist holds both stores to PostgreSQL's rule.
func ValidText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// SafeText is text from outside joist (a push target's answer, a
// provider's error, an SMTP reply) made storable: each NUL byte and each
// byte of invalid UTF-8 is replaced with U+FFFD, and a note at the end
// says how many were replaced. Valid text is returned unchanged.
func SafeText(s string) string {
	if ValidText(s) {
		return s
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
			n++
		case r == 0:
			b.WriteRune(utf8.RuneError)
			n++
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	fmt.Fprintf(&b, " [joist replaced %d byte(s) that were NUL or not UTF-8 with U+FFFD]", n)
	return b.String()
}

// SafeJSON is JSON from outside joist (a provider's event or API answer)
// made so that every string in it decodes to storable text: each \u0000
// escape becomes \ufffd and each byte that is not UTF-8 becomes U+FFFD.
// It reports whether anything was replaced, for the caller to say so.
// JSON that is already safe is returned as it is.
func SafeJSON(b []byte) ([]byte, bool) {
	nul := []byte(`\u0000`)
	if utf8.Valid(b) && !bytes.Contains(b, nul) {
		return b, false
	}
	b = bytes.ToValidUTF8(b, []byte("\uFFFD"))
	return bytes.ReplaceAll(b, nul, []byte(`\ufffd`)), true
}
