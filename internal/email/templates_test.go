package email_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/wire"
)

const bookingTemplate = `{"default_locale": "en", "layout": "base",
 "variants": {
   "en": {"subject": "Booking {{.data.booking_id}} confirmed", "preheader": "See you on {{.data.date}}",
          "html": "<p>Hi {{.contact.name}}</p>", "text": "Hi {{.contact.name}}"},
   "de": {"subject": "Buchung {{.data.booking_id}} bestätigt", "html": "<p>Hallo {{.contact.name}}</p>"}}}`

const baseLayout = `{"html": "<html><body>{{.content}}<p class=\"footer\">{{.tenant.name}}</p></body></html>"}`

// TestTemplatesCRUD: templates and layouts are saved, read, listed and
// deleted per owner; the root key without Joist-Tenant writes the
// instance's, which a tenant renders while it has none of its own, and a
// tenant's own replaces the instance's for it alone.
func TestTemplatesCRUD(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		newTenant(t, env, "acme")
		newTenant(t, env, "bravo")
		inst, acme, bravo := newCaller(t, env, ""), newCaller(t, env, "acme"), newCaller(t, env, "bravo")

		if r := inst.do(t, "PUT", "/v1/email/templates/booking", bookingTemplate); r.status != http.StatusCreated {
			t.Fatalf("instance template: %d %s", r.status, r.body)
		}
		if r := inst.do(t, "PUT", "/v1/email/layouts/base", baseLayout); r.status != http.StatusCreated {
			t.Fatalf("instance layout: %d %s", r.status, r.body)
		}
		// Replacing answers 200 and keeps created_at.
		var first, again wire.EmailTemplate
		inst.do(t, "GET", "/v1/email/templates/booking", nil).json(t, &first)
		r := inst.do(t, "PUT", "/v1/email/templates/booking", bookingTemplate)
		r.json(t, &again)
		if r.status != http.StatusOK || !again.CreatedAt.Equal(first.CreatedAt) || again.Owner != "instance" {
			t.Fatalf("replace: %d %s", r.status, r.body)
		}

		// Both tenants see the instance's template.
		var got wire.EmailTemplate
		if r := acme.do(t, "GET", "/v1/email/templates/booking", nil); r.status != http.StatusOK {
			t.Fatalf("acme reads the instance's: %d %s", r.status, r.body)
		} else {
			r.json(t, &got)
		}
		if got.Owner != "instance" || got.Layout != "base" || got.Variants["de"].Subject != "Buchung {{.data.booking_id}} bestätigt" {
			t.Fatalf("instance's template as acme sees it: %+v", got)
		}
		// acme's own replaces it for acme only.
		own := `{"default_locale":"en","variants":{"en":{"subject":"Acme booking {{.data.booking_id}}","text":"acme"}}}`
		if r := acme.do(t, "PUT", "/v1/email/templates/booking", own); r.status != http.StatusCreated {
			t.Fatalf("acme's own: %d %s", r.status, r.body)
		}
		acme.do(t, "GET", "/v1/email/templates/booking", nil).json(t, &got)
		if got.Owner != "tenant" || got.Variants["en"].Subject != "Acme booking {{.data.booking_id}}" {
			t.Fatalf("acme's own: %+v", got)
		}
		bravo.do(t, "GET", "/v1/email/templates/booking", nil).json(t, &got)
		if got.Owner != "instance" {
			t.Fatalf("bravo sees acme's template: %+v", got)
		}
		// Lists: the tenant's own and the instance's it does not replace, by name.
		if r := acme.do(t, "PUT", "/v1/email/templates/alpha", own); r.status != http.StatusCreated {
			t.Fatalf("alpha: %d %s", r.status, r.body)
		}
		names := func(c *caller, path string) string {
			t.Helper()
			var l struct {
				Data []struct{ Name, Owner string } `json:"data"`
			}
			r := c.do(t, "GET", path, nil)
			if r.status != http.StatusOK {
				t.Fatalf("%s: %d %s", path, r.status, r.body)
			}
			r.json(t, &l)
			var out []string
			for _, x := range l.Data {
				out = append(out, x.Name+":"+x.Owner)
			}
			return strings.Join(out, ",")
		}
		for _, c := range []struct {
			c          *caller
			path, want string
		}{
			{acme, "/v1/email/templates", "alpha:tenant,booking:tenant"},
			{bravo, "/v1/email/templates", "booking:instance"},
			{inst, "/v1/email/templates", "booking:instance"},
			{bravo, "/v1/email/layouts", "base:instance"},
			{acme, "/v1/email/templates?limit=1", "alpha:tenant"},
		} {
			if got := names(c.c, c.path); got != c.want {
				t.Errorf("%s as %q: %s, want %s", c.path, c.c.Tenant, got, c.want)
			}
		}
		// Paging goes on after the cursor.
		var page wire.List[wire.EmailTemplate]
		acme.do(t, "GET", "/v1/email/templates?limit=1", nil).json(t, &page)
		if page.NextCursor == "" || names(acme, "/v1/email/templates?limit=1&cursor="+page.NextCursor) != "booking:tenant" {
			t.Fatalf("second page after %q", page.NextCursor)
		}

		// A tenant deletes its own only; then it renders the instance's again.
		if r := bravo.do(t, "DELETE", "/v1/email/templates/booking", nil); r.status != http.StatusNotFound {
			t.Fatalf("bravo deleted the instance's template: %d %s", r.status, r.body)
		}
		if r := acme.do(t, "DELETE", "/v1/email/templates/booking", nil); r.status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		acme.do(t, "GET", "/v1/email/templates/booking", nil).json(t, &got)
		if got.Owner != "instance" {
			t.Fatalf("after delete acme sees %+v", got)
		}
		if r := bravo.do(t, "DELETE", "/v1/email/layouts/base", nil); r.status != http.StatusNotFound {
			t.Fatalf("bravo deleted the instance's layout: %d %s", r.status, r.body)
		}
		var lay wire.EmailLayout
		bravo.do(t, "GET", "/v1/email/layouts/base", nil).json(t, &lay)
		if lay.Owner != "instance" || !strings.Contains(lay.HTML, "{{.content}}") {
			t.Fatalf("layout: %+v", lay)
		}
		if r := inst.do(t, "DELETE", "/v1/email/layouts/base", nil); r.status != http.StatusNoContent {
			t.Fatalf("delete layout: %d %s", r.status, r.body)
		}
		if r := bravo.do(t, "GET", "/v1/email/layouts/base", nil); r.status != http.StatusNotFound {
			t.Fatalf("deleted layout: %d %s", r.status, r.body)
		}
		// The template naming it still reads; rendering it is 422 missing_layout.
		var p problem
		r = bravo.do(t, "POST", "/v1/email/templates/booking/preview", `{"data":{"booking_id":"B1","date":"Monday"},"contact":""}`)
		r.json(t, &p)
		if r.status != http.StatusUnprocessableEntity || p.Code != "missing_layout" {
			t.Fatalf("preview without its layout: %d %s", r.status, r.body)
		}
		if lines := env.ErrorLines(); len(lines) > 0 {
			t.Fatalf("errors logged: %v", lines)
		}
	})
}

// TestTemplatePreview renders in the requested locale, else the contact's
// (de-AT falls back to de), in the layout the tenant renders (its own
// over the instance's), with the contact and tenant in the context and
// every value escaped; a missing variable is 422 naming it.
func TestTemplatePreview(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		newTenant(t, env, "acme")
		inst, acme := newCaller(t, env, ""), newCaller(t, env, "acme")
		for path, body := range map[string]string{"/v1/email/templates/booking": bookingTemplate, "/v1/email/layouts/base": baseLayout} {
			if r := inst.do(t, "PUT", path, body); r.status != http.StatusCreated {
				t.Fatalf("%s: %d %s", path, r.status, r.body)
			}
		}
		if r := acme.do(t, "PUT", "/v1/contacts/lena", `{"email":"lena@x.example","name":"Lena <script>alert(1)</script>","locale":"de-AT"}`); r.status != http.StatusCreated {
			t.Fatalf("contact: %d %s", r.status, r.body)
		}
		preview := func(body string) (wire.EmailPreview, resp) {
			t.Helper()
			var pv wire.EmailPreview
			r := acme.do(t, "POST", "/v1/email/templates/booking/preview", body)
			if r.status == http.StatusOK {
				r.json(t, &pv)
			}
			return pv, r
		}
		pv, r := preview(`{"data":{"booking_id":12345678,"date":"Monday"},"contact":"lena"}`)
		if r.status != http.StatusOK {
			t.Fatalf("preview: %d %s", r.status, r.body)
		}
		if pv.Locale != "de" || pv.Subject != "Buchung 12345678 bestätigt" || !strings.Contains(pv.HTML, "Hallo Lena &lt;script&gt;") ||
			strings.Contains(pv.HTML, "<script>") || !strings.Contains(pv.HTML, `class="footer"`) || !strings.Contains(pv.HTML, "acme") ||
			!strings.Contains(pv.Text, "Hallo Lena <script>alert(1)</script>") {
			t.Fatalf("preview in the contact's locale: %+v", pv)
		}
		// The request's locale wins over the contact's; en has a preheader and its own text.
		pv, _ = preview(`{"locale":"en-GB","data":{"booking_id":"B-1","date":"Monday"},"contact":"lena"}`)
		if pv.Locale != "en" || pv.Subject != "Booking B-1 confirmed" || pv.Preheader != "See you on Monday" || pv.Text != "Hi Lena <script>alert(1)</script>" {
			t.Fatalf("preview in en: %+v", pv)
		}
		// acme's own layout replaces the instance's for acme's renders.
		if r := acme.do(t, "PUT", "/v1/email/layouts/base", `{"html":"<div id=\"acme-frame\">{{.content}}</div>"}`); r.status != http.StatusCreated {
			t.Fatalf("acme layout: %d %s", r.status, r.body)
		}
		if pv, _ = preview(`{"data":{"booking_id":"B-1","date":"Monday"},"contact":"lena"}`); !strings.Contains(pv.HTML, "acme-frame") || strings.Contains(pv.HTML, "footer") {
			t.Fatalf("acme's layout not used: %s", pv.HTML)
		}

		for _, c := range []struct {
			name, path, body string
			status           int
			code, field      string
		}{
			{"missing variable", "/v1/email/templates/booking/preview", `{"data":{"date":"Monday"},"contact":"lena"}`, 422, "missing_variable", "data.booking_id"},
			{"no contact for contact.name", "/v1/email/templates/booking/preview", `{"data":{"booking_id":1,"date":"x"}}`, 422, "missing_variable", "contact"},
			{"line break in the subject", "/v1/email/templates/booking/preview", `{"locale":"en","data":{"booking_id":"1\r\nBcc: evil@x.example","date":"x"},"contact":"lena"}`, 422, "invalid_subject", ""},
			{"bad locale", "/v1/email/templates/booking/preview", `{"locale":"not a locale!","data":{}}`, 400, "invalid_locale", "locale"},
			{"data not an object", "/v1/email/templates/booking/preview", `{"data":[1,2]}`, 400, "invalid_data", "data"},
			{"unknown contact", "/v1/email/templates/booking/preview", `{"data":{},"contact":"ghost"}`, 404, "not_found", ""},
			{"unknown template", "/v1/email/templates/ghost/preview", `{"data":{}}`, 404, "not_found", "template"},
			{"syntax error", "/v1/email/templates/bad", `{"default_locale":"en","variants":{"en":{"subject":"Hi {{.data.x","html":"<p>x</p>"}}}`, 400, "invalid_template", "variants.en.subject"},
			{"unsafe html", "/v1/email/templates/bad", `{"default_locale":"en","variants":{"en":{"subject":"Hi","html":"<a href=\"{{.data.u}}"}}}`, 400, "invalid_template", "variants.en.html"},
			{"no default variant", "/v1/email/templates/bad", `{"default_locale":"fr","variants":{"en":{"subject":"Hi","text":"x"}}}`, 400, "invalid_template", "default_locale"},
			{"bad variant locale", "/v1/email/templates/bad", `{"default_locale":"en","variants":{"en":{"subject":"Hi","text":"x"},"xx-!!":{"subject":"Hi","text":"x"}}}`, 400, "invalid_locale", "variants.xx-!!"},
			{"NUL in a part", "/v1/email/templates/bad", `{"default_locale":"en","variants":{"en":{"subject":"Hi","text":"a\u0000b"}}}`, 400, "invalid_text", "variants.en.text"},
			{"bad template name", "/v1/email/templates/Bad%20Name", `{"default_locale":"en","variants":{"en":{"subject":"Hi","text":"x"}}}`, 400, "invalid_name", "name"},
			{"bad layout name", "/v1/email/templates/bad", `{"default_locale":"en","layout":"../x","variants":{"en":{"subject":"Hi","text":"x"}}}`, 400, "invalid_name", "layout"},
			{"unknown field", "/v1/email/templates/bad", `{"default_locale":"en","variants":{},"evil":1}`, 400, "unknown_field", ""},
			{"layout without content", "/v1/email/layouts/bad", `{"html":"<p>{{.subject}}</p>"}`, 400, "invalid_layout", "html"},
			{"layout syntax error", "/v1/email/layouts/bad", `{"html":"{{.content}}{{if}}"}`, 400, "invalid_layout", "html"},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := env.Snapshot(t)
				method := "POST"
				if !strings.HasSuffix(c.path, "/preview") {
					method = "PUT"
				}
				r := acme.do(t, method, c.path, c.body)
				var p problem
				r.json(t, &p)
				if r.status != c.status || p.Code != c.code || p.Field != c.field {
					t.Fatalf("%d %s, want %d %s field %q", r.status, r.body, c.status, c.code, c.field)
				}
				apptestUnchanged(t, env, before)
			})
		}
	})
}

// TestTemplateSend: a template send is rendered at once in the contact's
// locale (de-AT falls back to de), stored with the rendered subject and
// bodies, the template and the locale, and captured by the outbox; the
// log filters on template. Data that does not fit the template is 422
// naming the variable, and nothing at all is stored.
func TestTemplateSend(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		newTenant(t, env, "acme")
		inst, acme := newCaller(t, env, ""), newCaller(t, env, "acme")
		for path, body := range map[string]string{"/v1/email/templates/booking": bookingTemplate, "/v1/email/layouts/base": baseLayout} {
			if r := inst.do(t, "PUT", path, body); r.status != http.StatusCreated {
				t.Fatalf("%s: %d %s", path, r.status, r.body)
			}
		}
		if r := acme.do(t, "PUT", "/v1/contacts/lena", `{"email":"lena@x.example","name":"Lena","locale":"de-AT"}`); r.status != http.StatusCreated {
			t.Fatalf("contact: %d %s", r.status, r.body)
		}
		r := acme.do(t, "POST", "/v1/emails", `{"from":"hello@acme.example","contact":"lena","template":"booking","data":{"booking_id":"B-7","date":"Montag"}}`,
			"Idempotency-Key", "booking-7")
		if r.status != http.StatusAccepted {
			t.Fatalf("template send: %d %s", r.status, r.body)
		}
		var sent wire.Email
		r.json(t, &sent)
		if sent.Subject != "Buchung B-7 bestätigt" || sent.Template != "booking" || sent.Locale != "de" || sent.To[0] != "lena@x.example" {
			t.Fatalf("answer: %s", r.body)
		}
		var got wire.Email
		waitFor(t, 20*time.Second, "the outbox to capture the email", func() bool {
			acme.do(t, "GET", "/v1/emails/"+sent.ID, nil).json(t, &got)
			return got.Status == "captured"
		})
		if got.Template != "booking" || got.Locale != "de" || !strings.Contains(got.HTML, "<p>Hallo Lena</p>") || !strings.Contains(got.HTML, `class="footer"`) ||
			!strings.Contains(got.Text, "Hallo Lena") || got.Subject != "Buchung B-7 bestätigt" {
			t.Fatalf("captured: %+v", got)
		}
		// The request's locale wins over the contact's; a batch mixes template sends and sends with their own content.
		r = acme.do(t, "POST", "/v1/emails/batch", `{"emails":[
			{"from":"hello@acme.example","contact":"lena","template":"booking","locale":"en","data":{"booking_id":"B-8","date":"Monday"}},
			{"from":"hello@acme.example","to":"x@x.example","subject":"plain","text":"plain"}]}`)
		var batch wire.EmailBatchResult
		r.json(t, &batch)
		if r.status != http.StatusAccepted || batch.Data[0].Locale != "en" || batch.Data[0].Subject != "Booking B-8 confirmed" || batch.Data[1].Template != "" {
			t.Fatalf("batch: %d %s", r.status, r.body)
		}
		var l wire.List[wire.Email]
		acme.do(t, "GET", "/v1/emails?template=booking", nil).json(t, &l)
		if len(l.Data) != 2 || l.Data[0].ID != batch.Data[0].ID || l.Data[1].ID != sent.ID {
			t.Fatalf("?template=booking: %+v", l.Data)
		}

		// Let the send jobs finish, so that the counts below see only the requests.
		waitFor(t, 20*time.Second, "every email captured", func() bool {
			var q wire.List[wire.Email]
			acme.do(t, "GET", "/v1/emails?status=queued", nil).json(t, &q)
			return len(q.Data) == 0
		})
		ok := `"from":"hello@acme.example","contact":"lena"`
		for _, c := range []struct {
			name, path, body string
			status           int
			code, field      string
		}{
			{"missing variable", "/v1/emails", `{` + ok + `,"template":"booking","data":{"date":"x"}}`, 422, "missing_variable", "data.booking_id"},
			{"missing variable in a batch", "/v1/emails/batch", `{"emails":[{` + ok + `,"template":"booking","data":{"booking_id":1,"date":"x"}},{` + ok + `,"template":"booking","data":{"date":"x"}}]}`, 422, "missing_variable", "emails[1].data.booking_id"},
			{"no contact for contact.name", "/v1/emails", `{"from":"hello@acme.example","to":"a@x.example","template":"booking","data":{"booking_id":1,"date":"x"}}`, 422, "missing_variable", "contact"},
			{"subject injection through data", "/v1/emails", `{` + ok + `,"template":"booking","data":{"booking_id":"1\r\nBcc: evil@x.example","date":"x"}}`, 422, "invalid_subject", ""},
			{"template and subject", "/v1/emails", `{` + ok + `,"template":"booking","subject":"Hi","data":{}}`, 400, "template_and_content", "subject"},
			{"template and html", "/v1/emails", `{` + ok + `,"template":"booking","html":"<p>x</p>"}`, 400, "template_and_content", "html"},
			{"neither", "/v1/emails", `{` + ok + `}`, 400, "subject_required", "subject"},
			{"data without template", "/v1/emails", `{` + ok + `,"subject":"Hi","text":"t","data":{"a":1}}`, 400, "template_required", "data"},
			{"data not an object", "/v1/emails", `{` + ok + `,"template":"booking","data":"x"}`, 400, "invalid_data", "data"},
			{"bad locale", "/v1/emails", `{` + ok + `,"template":"booking","locale":"??","data":{}}`, 400, "invalid_locale", "locale"},
			{"bad template name", "/v1/emails", `{` + ok + `,"template":"../etc"}`, 400, "invalid_name", "template"},
			{"unknown template", "/v1/emails", `{` + ok + `,"template":"ghost","data":{}}`, 404, "not_found", "template"},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := env.Snapshot(t)
				r := acme.do(t, "POST", c.path, c.body)
				var p problem
				r.json(t, &p)
				if r.status != c.status || p.Code != c.code || p.Field != c.field {
					t.Fatalf("%d %s, want %d %s field %q", r.status, r.body, c.status, c.code, c.field)
				}
				apptestUnchanged(t, env, before)
			})
		}
		if lines := env.ErrorLines(); len(lines) > 0 {
			t.Fatalf("errors logged: %v", lines)
		}
	})
}
