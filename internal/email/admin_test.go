package email_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/admin/admintest"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/email"
	"github.com/joist-dev/joist/internal/store"
)

// hostileSubject and hostileHTML are an email an attacker could have a
// tenant send (a contact form echoing its input, say): the dashboard must
// show them inert.
const (
	hostileSubject = `Hi <img src=x onerror="document.title='pwned-subject'"></title><script>document.title='pwned-subject'</script>`
	hostileHTML    = `<p id="hello">Hello from the frame</p><script>window.parent.document.title='pwned-frame'; document.title='ran'</script>` +
		`<form action="/admin/logout" method="post"><button id="go">Go</button></form>`
)

// sendCaptured sends an email through the service as the root key would
// and waits until the outbox has captured it.
func sendCaptured(t *testing.T, env *apptest.Env, tenantID string, in email.Input) email.Detail {
	t.Helper()
	if in.From == "" {
		in.From = "Acme <hello@acme.example>"
	}
	e, err := env.App.Email.Send(context.Background(), root, tenantID, "", in)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	var d email.Detail
	waitFor(t, 30*time.Second, "the outbox to capture "+e.ID, func() bool {
		d, err = env.App.Email.Get(context.Background(), root, tenantID, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		return d.Status == email.StatusCaptured
	})
	return d
}

// TestEmailPagesViewerSees: a viewer finds the tenant's emails from the
// tenant page, searches the log by recipient, tag, status (the outbox's
// captured emails) and time, opens an email with its headers, text,
// events and send job, and sees the contact's emails on the contact page.
// Nothing on the pages writes.
func TestEmailPagesViewerSees(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		tn := admintest.MkTenant(t, env, "acme")
		admintest.MkContact(t, env, tn.ID, "ana", "ana@guest.example", "Ana")
		receipt := sendCaptured(t, env, tn.ID, email.Input{Contact: "ana", Subject: "Your receipt № 42", HTML: "<p>Thanks</p>",
			Text: "Thanks for your order", Headers: map[string]string{"X-Order": "42"}, Tags: []string{"receipt"},
			Metadata: []byte(`{"order":42}`)})
		other := sendCaptured(t, env, tn.ID, email.Input{To: []string{"bob@x.example"}, Subject: "Digest", Text: "1 new", Tags: []string{"digest"}})
		admintest.MkOperator(t, env, "vera@example.com", auth.RoleViewer)

		v := admintest.NewClient(t, env)
		v.Login("vera@example.com", admintest.Password)
		admintest.Want(t, "tenant page links to emails", v.Get("/admin/tenants/acme"), http.StatusOK, `href="/admin/tenants/acme/emails"`)
		if r := v.Get("/admin/tenants/_"); strings.Contains(r.Body, `href="/admin/tenants/_/emails"`) {
			t.Fatal("the instance's page links to emails; the instance sends none")
		}

		log := v.Get("/admin/tenants/acme/emails")
		admintest.Want(t, "the log", log, http.StatusOK, receipt.ID, other.ID, "Your receipt № 42", "ana@guest.example", "(ana)",
			`id="status-all" aria-current="page"`)
		for _, c := range []struct {
			query      string
			want, miss string
		}{
			{"to=ANA@guest.example", receipt.ID, other.ID},
			{"tag=digest", other.ID, receipt.ID},
			{"q=receipt", receipt.ID, other.ID},
			{"contact=ana", receipt.ID, other.ID},
			{"status=captured", receipt.ID, ""},
			{"status=queued", "No email matches.", receipt.ID},
			{"since=" + time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04"), "No email matches.", receipt.ID},
			{"until=" + url.QueryEscape(time.Now().UTC().Add(time.Hour).Format(time.RFC3339)), receipt.ID, ""},
			{"until=2000-01-01", "No email matches.", receipt.ID},
		} {
			r := v.Get("/admin/tenants/acme/emails?" + c.query)
			admintest.Want(t, "log ?"+c.query, r, http.StatusOK, c.want)
			if c.miss != "" && strings.Contains(r.Body, c.miss) {
				t.Fatalf("log ?%s shows %s", c.query, c.miss)
			}
		}
		admintest.Want(t, "the outbox", v.Get("/admin/tenants/acme/emails?status=captured"), http.StatusOK,
			`id="outbox-note"`, "never sent", `id="status-captured" aria-current="page">outbox<`)
		admintest.Want(t, "unknown status", v.Get("/admin/tenants/acme/emails?status=bogus"), http.StatusBadRequest, "is not one of")
		admintest.Want(t, "bad time", v.Get("/admin/tenants/acme/emails?since=yesterday"), http.StatusBadRequest, "since", "is not a time")

		page := v.Get("/admin/tenants/acme/emails/" + receipt.ID)
		admintest.Want(t, "the email", page, http.StatusOK, "Your receipt № 42", "hello@acme.example", "X-Order", "&lt;"+receipt.MessageID+"&gt;",
			"Thanks for your order", `<iframe sandbox="" srcdoc="&lt;p&gt;Thanks&lt;/p&gt;"`, `id="email-events"`, ">queued<", ">captured<",
			"captured by the outbox; not sent", `id="attempts-note"`, "no failed attempt", `href="/admin/tenants/acme/jobs/`+receipt.JobID+`"`,
			`href="/admin/tenants/acme/contacts/ana"`, `id="email-metadata"`, `id="job-state">completed<`)
		if strings.Contains(page.Body, `action="/admin/tenants/acme/emails`) {
			t.Fatal("the email page has a form that writes")
		}
		text := v.Get("/admin/tenants/acme/emails/" + other.ID)
		admintest.Want(t, "a text-only email", text, http.StatusOK, `id="email-html-none"`, "1 new")
		admintest.Want(t, "unknown email", v.Get("/admin/tenants/acme/emails/em_nope"), http.StatusNotFound)

		contact := v.Get("/admin/tenants/acme/contacts/ana")
		admintest.Want(t, "contact's emails", contact, http.StatusOK, `id="contact-emails"`, receipt.ID, "Your receipt № 42")
		if strings.Contains(contact.Body, other.ID) {
			t.Fatal("the contact's card lists another recipient's email")
		}
	})
}

// TestEmailPagesHostileContent: an email whose subject and HTML hold
// markup and script is shown escaped, and its HTML only inside a frame
// sandboxed with no permission at all (no scripts, no same origin, no
// forms), as the srcdoc attribute's text.
func TestEmailPagesHostileContent(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		tn := admintest.MkTenant(t, env, "acme")
		admintest.MkContact(t, env, tn.ID, "ana", "ana@guest.example", "Ana")
		e := sendCaptured(t, env, tn.ID, email.Input{Contact: "ana", Subject: hostileSubject, HTML: hostileHTML, Text: "<script>alert(1)</script>"})
		owner := admintest.NewClient(t, env)
		owner.LoginOwner()
		for _, path := range []string{"/admin/tenants/acme/emails", "/admin/tenants/acme/emails/" + e.ID, "/admin/tenants/acme/contacts/ana"} {
			r := owner.Get(path)
			admintest.Want(t, path, r, http.StatusOK, "Hi &lt;img src=x onerror=")
			for _, raw := range []string{"<script>", "<img src=x", `<p id="hello">`, `<form action="/admin/logout"`} {
				if strings.Contains(r.Body, raw) {
					t.Fatalf("%s holds %q unescaped", path, raw)
				}
			}
		}
		page := owner.Get("/admin/tenants/acme/emails/" + e.ID)
		admintest.Want(t, "the frame", page, http.StatusOK,
			`<iframe sandbox="" srcdoc="&lt;p id=&#34;hello&#34;&gt;Hello from the frame&lt;/p&gt;&lt;script&gt;`,
			"&lt;script&gt;alert(1)&lt;/script&gt;")
		if n := strings.Count(page.Body, "<iframe"); n != 1 {
			t.Fatalf("%d frames on the page, want 1", n)
		}
		if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Fatalf("the email page's policy is %q", csp)
		}
	})
}

// TestEmailPagesTenantScope: an operator scoped to one tenant gets 404 for
// another tenant's log and emails, even with their own tenant in the path,
// and for the instance.
func TestEmailPagesTenantScope(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		alpha := admintest.MkTenant(t, env, "alpha")
		bravo := admintest.MkTenant(t, env, "bravo")
		theirs := sendCaptured(t, env, bravo.ID, email.Input{To: []string{"secret@bravo.example"}, Subject: "Bravo's secret", Text: "x"})
		admintest.MkOperator(t, env, "sam@example.com", auth.RoleSupport, alpha.ID)

		sam := admintest.NewClient(t, env)
		sam.Login("sam@example.com", admintest.Password)
		admintest.Want(t, "own tenant's emails", sam.Get("/admin/tenants/alpha/emails"), http.StatusOK, "No email matches.")
		for _, path := range []string{
			"/admin/tenants/bravo/emails",
			"/admin/tenants/bravo/emails?status=captured",
			"/admin/tenants/bravo/emails/" + theirs.ID,
			"/admin/tenants/" + bravo.ID + "/emails/" + theirs.ID,
			"/admin/tenants/alpha/emails/" + theirs.ID, // own tenant in the path, other tenant's email
			"/admin/tenants/" + store.InstanceTenantID + "/emails",
		} {
			r := sam.Get(path)
			admintest.Want(t, "GET "+path, r, http.StatusNotFound)
			if strings.Contains(r.Body, "Bravo's secret") || strings.Contains(r.Body, "secret@bravo.example") {
				t.Fatalf("GET %s shows the other tenant's email", path)
			}
		}
		if r := sam.Get("/admin/tenants/alpha/emails?to=secret@bravo.example"); strings.Contains(r.Body, theirs.ID) {
			t.Fatal("the search crosses tenants")
		}
	})
}
