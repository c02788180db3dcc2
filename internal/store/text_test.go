package store_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/store"
)

func TestSafeText(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"plain", "plain"},
		{"héllo ✓", "héllo ✓"},
		{"a\x00b", "a\uFFFDb [joist replaced 1 byte(s)"},
		{"caf\xe9 \xff\xfe", "caf\uFFFD \uFFFD\uFFFD [joist replaced 3 byte(s)"},
		{"cut \xe2\x9c", "cut \uFFFD\uFFFD [joist replaced 2 byte(s)"},
	} {
		got := store.SafeText(c.in)
		if !strings.HasPrefix(got, c.want) || !store.ValidText(got) {
			t.Errorf("SafeText(%q) = %q, want it to start with %q and be valid text", c.in, got, c.want)
		}
	}
	for s, ok := range map[string]bool{"ok": true, "": true, "ü": true, "\x00": false, "\xff": false, "a\xc3": false} {
		if store.ValidText(s) != ok {
			t.Errorf("ValidText(%q) = %v", s, !ok)
		}
	}
}

func TestSafeJSON(t *testing.T) {
	t.Parallel()
	in := []byte("{\"a\":\"x\\u0000y\",\"b\":\"caf\xe9\"}")
	out, changed := store.SafeJSON(in)
	var v struct{ A, B string }
	if err := json.Unmarshal(out, &v); err != nil || !changed || v.A != "x\uFFFDy" || v.B != "caf\uFFFD" {
		t.Fatalf("SafeJSON(%q) = %q %v: %+v %v", in, out, changed, v, err)
	}
	if out, changed := store.SafeJSON([]byte(`{"a":"ok"}`)); changed || string(out) != `{"a":"ok"}` {
		t.Fatalf("safe JSON changed: %q", out)
	}
}
