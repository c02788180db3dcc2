package notify

import (
	"strings"
	"testing"
)

// TestContactFree: a content template is rendered once per event only
// when its output cannot depend on the contact.
func TestContactFree(t *testing.T) {
	for src, want := range map[string]bool{
		"New booking":                                                  true,
		"{{.data.guest}} booked {{.data.room}}":                        true,
		"/bookings/{{.data.id}}?t={{.tenant.slug}}":                    true,
		"{{if .data.vip}}VIP {{end}}{{.data.guest | printf \"%q\"}}":   true,
		"{{with .data}}{{.guest}} {{.}}{{end}}":                        true,
		"{{range .data.items}}{{.}}, {{end}}":                          true,
		"{{range $i, $e := .data.items}}{{$i}}={{$e}}{{end}}":          true,
		"{{$g := .data.guest}}{{$g}}":                                  true,
		"{{index .data \"guest\"}}":                                    true,
		"{{/* a comment */}}{{len .data.items}}":                       true,
		"Hi {{.contact.name}}":                                         false,
		"{{.contact}}":                                                 false,
		"{{with .contact}}{{.name}}{{end}}":                            false,
		"{{.}}":                                                        false,
		"{{index . \"contact\"}}":                                      false,
		"{{$}}":                                                        false,
		"{{with .data}}{{$.contact.name}}{{end}}":                      false,
		"{{range .data.items}}{{$.contact.email}}{{end}}":              false,
		"{{$c := .}}{{$c.contact.name}}":                               false,
		"{{with .data}}x{{else}}{{.}}{{end}}":                          false,
		"{{range .data.items}}x{{else}}{{index . \"contact\"}}{{end}}": false,
		"{{(.data).contact}}":                                          false,
		"{{define \"x\"}}{{.contact.name}}{{end}}{{template \"x\" .}}": false,
		"{{if .contact.locale}}x{{end}}":                               false,
		"{{printf \"%v\" .}}":                                          false,
	} {
		tp, err := parseContent("content", src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if got := contactFree(tp); got != want {
			t.Errorf("contactFree(%s) = %v, want %v", src, got, want)
		}
	}
}

// TestContentMemo: a contact-free template renders once per event (the
// same output, or the same error, for every recipient); a contact-bound
// one renders per recipient; an in_app and a content template of the
// same source keep their own error messages.
func TestContentMemo(t *testing.T) {
	fc := &fanCtx{data: map[string]any{"guest": "Ana"}, tenant: map[string]any{"slug": "acme"}}
	roots := 0
	rootOf := func(name string) func() map[string]any {
		return func() map[string]any {
			roots++
			return map[string]any{"data": fc.data, "tenant": fc.tenant, "contact": map[string]any{"name": name}}
		}
	}
	for _, name := range []string{"Bo", "Cy", "Di"} {
		out, err := fc.content("in_app", "{{.data.guest}} @ {{.tenant.slug}}", rootOf(name))
		if err != nil || out != "Ana @ acme" {
			t.Fatalf("contact-free: %q %v", out, err)
		}
		out, err = fc.content("in_app", "Hi {{.contact.name}}, {{.data.guest}}", rootOf(name))
		if err != nil || out != "Hi "+name+", Ana" {
			t.Fatalf("contact-bound: %q %v", out, err)
		}
	}
	if roots != 3 {
		t.Fatalf("the root was built %d times, want 3 (once per contact-bound render)", roots)
	}
	if m := fc.contents["in_app\x00{{.data.guest}} @ {{.tenant.slug}}"]; m == nil || !m.contactFree || !m.rendered {
		t.Fatalf("not memoised: %+v", m)
	}
	_, err1 := fc.content("in_app", "{{.data.missing}}", rootOf("Bo"))
	_, err2 := fc.content("in_app", "{{.data.missing}}", rootOf("Cy"))
	_, err3 := fc.content("content", "{{.data.missing}}", rootOf("Cy"))
	if err1 == nil || err2 == nil || err1.Error() != err2.Error() || !strings.Contains(err1.Error(), "in_app") ||
		err3 == nil || !strings.Contains(err3.Error(), `"content"`) {
		t.Fatalf("errors: %v / %v / %v", err1, err2, err3)
	}
	if _, err := fc.content("content", "{{.data.guest", rootOf("Bo")); err == nil {
		t.Fatal("a template that does not parse rendered")
	}
}
