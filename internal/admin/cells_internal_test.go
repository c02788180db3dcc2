package admin

import "testing"

// TestNameCell: a short name stays whole on one line (code.action); a long
// one may wrap only after a "." or "_", escaped.
func TestNameCell(t *testing.T) {
	for in, want := range map[string]string{
		"http_push":                `<code class="action">http_push</code>`,
		"key.create":               `<code class="action">key.create</code>`,
		"notification_type.create": `<code class="dotted" title="notification_type.create">notification_<wbr>type.<wbr>create</code>`,
		"a<b>_very_long.kind-name": `<code class="dotted" title="a&lt;b&gt;_very_long.kind-name">a&lt;b&gt;_<wbr>very_<wbr>long.<wbr>kind-name</code>`,
	} {
		if got := string(nameCell(in)); got != want {
			t.Errorf("nameCell(%q) = %s, want %s", in, got, want)
		}
	}
}
