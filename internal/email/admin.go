package email

import (
	"embed"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/joist-dev/joist/internal/admin"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/store"
)

// The email pages live under the tenant, since every email belongs to one:
//
//	GET /admin/tenants/{tenant}/emails          the log: search, status tabs (captured: the outbox), 50 a page
//	GET /admin/tenants/{tenant}/emails/{email}  one email: headers, HTML in a sandboxed frame, text, events, send attempts
//
// the suppression list (admin_suppressions.go) and the sending domains
// (admin_domains.go) beside them,
// and a card on the contact page with the contact's latest emails. The
// log and email pages only read (role read: viewers see them); every read goes through
// Service (and jobs.Service for the send job) with the operator as the
// actor, which checks the tenant scope.

//go:embed pages partials
var pagesFS embed.FS

// contactEmailsMax is how many emails the contact page's card lists.
const contactEmailsMax = 10

// emailPages serves the email section with the services it was given.
type emailPages struct {
	a    *admin.Admin
	svc  *Service
	jobs *jobs.Service
}

// AdminSection is the email part of the dashboard: each tenant's email log
// (the outbox's captured emails among them), an email's page, and the
// contact page's Emails card. The instance sends no email, so its page
// links only to its sending domains.
func (s *Service) AdminSection() admin.SectionFunc {
	return func(a *admin.Admin) admin.Section {
		p := &emailPages{a: a, svc: s, jobs: s.jobs}
		return admin.Section{Name: "email", Templates: admin.Sub(pagesFS, "pages"), Partials: admin.Sub(pagesFS, "partials"),
			Flashes: map[string]string{
				"suppression_added":    "The address was suppressed.",
				"suppression_released": "The address was released: emails to it will be sent again.",
				"dkim_rotated":         "A new DKIM key was made: publish its record beside the current one, then check DNS; signing switches to it when the check finds it.",
			},
			TenantLinks: []admin.TenantLink{{Label: "Emails", Path: "/emails", ID: "tenant-emails"},
				{Label: "Email domains", Path: "/emails/domains", ID: "tenant-email-domains", Instance: true}},
			Panels: []admin.Panel{{Page: admin.PanelContact, Template: "contact_emails.html", Data: p.contactPanel}},
			Routes: map[string]admin.HandlerFunc{
				"GET /admin/tenants/{tenant}/emails":         p.list,
				"GET /admin/tenants/{tenant}/emails/{email}": p.detail,

				"GET /admin/tenants/{tenant}/emails/suppressions":          p.suppressions,
				"POST /admin/tenants/{tenant}/emails/suppressions":         p.suppressionAdd,
				"POST /admin/tenants/{tenant}/emails/suppressions/release": p.suppressionRelease,

				"GET /admin/tenants/{tenant}/emails/domains":                       p.domains,
				"GET /admin/tenants/{tenant}/emails/domains/{domain}":              p.domain,
				"POST /admin/tenants/{tenant}/emails/domains/{domain}/check":       p.domainCheck,
				"POST /admin/tenants/{tenant}/emails/domains/{domain}/rotate-dkim": p.domainRotate,
			}}
	}
}

// emailRow is an email as the pages show it.
type emailRow struct{ Detail }

// Badge is the badge class of the email's status.
func (e emailRow) Badge() string { return statusBadge(e.Status) }

func statusBadge(st string) string {
	switch st {
	case StatusSent, StatusCaptured, "delivered":
		return "ok"
	case StatusFailed, "bounced", "complained", "suppressed":
		return "revoked"
	}
	return ""
}

// eventRow is an event of an email as its page shows it.
type eventRow struct{ Event }

// Badge is the badge class of the event's type.
func (e eventRow) Badge() string { return statusBadge(e.Type) }

// Recipients is the email's to addresses, joined.
func (e emailRow) Recipients() string { return strings.Join(e.To, ", ") }

// logQuery is the log's search as given in the query string.
type logQuery struct {
	Q, To, Status, Tag, Contact, Since, Until string
}

func logQueryOf(v url.Values) logQuery {
	g := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	return logQuery{Q: g("q"), To: g("to"), Status: g("status"), Tag: g("tag"), Contact: g("contact"), Since: g("since"), Until: g("until")}
}

// filter is the service's filter for the search; a date it cannot read is
// a 400 that names the field.
func (f logQuery) filter() (ListFilter, error) {
	lf := ListFilter{Filter: Filter{Query: f.Q, To: f.To, Tag: f.Tag}, Contact: f.Contact}
	if f.Status != "" {
		lf.Statuses = []string{f.Status}
	}
	var err error
	if lf.Since, err = parseWhen("since", f.Since); err != nil {
		return lf, err
	}
	lf.Until, err = parseWhen("until", f.Until)
	return lf, err
}

// whenLayouts are the forms a since/until may take: RFC 3339, what a
// datetime-local input sends (read as UTC), or a day (its start, UTC).
var whenLayouts = []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"}

func parseWhen(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, l := range whenLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, core.Invalid("invalid_"+field, "%s %q is not a time: give 2026-01-31, 2026-01-31T14:00 (UTC) or RFC 3339", field, s)
}

// url is the log's URL for the search, with extra query pairs.
func (f logQuery) url(slug string, extra ...string) string {
	q := url.Values{}
	for k, v := range map[string]string{"q": f.Q, "to": f.To, "status": f.Status, "tag": f.Tag, "contact": f.Contact, "since": f.Since, "until": f.Until} {
		if v != "" {
			q.Set(k, v)
		}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	u := "/admin/tenants/" + url.PathEscape(slug) + "/emails"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

type logData struct {
	Tenant   store.Tenant
	Filter   logQuery
	Tabs     []admin.Tab // "all", then Statuses
	Emails   []emailRow
	Next     string
	Provider SettingsInfo // the provider the tenant sends through (outbox: nothing is sent)
	Nav      emailNav
}

// Outbox says whether the page shows the outbox (the captured emails).
func (d logData) Outbox() bool { return d.Filter.Status == StatusCaptured }

func (p *emailPages) list(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	t, err := p.a.Tenant(r, op)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := logQueryOf(q)
	lf, err := f.filter()
	if err != nil {
		return err
	}
	list, next, err := p.svc.List(r.Context(), op.Actor, t.ID, store.Page{Limit: 50, Cursor: q.Get("cursor")}, lf)
	if err != nil {
		return err
	}
	prov, err := p.svc.GetSettings(r.Context(), op.Actor, t.ID)
	if err != nil {
		return err
	}
	d := logData{Tenant: t, Filter: f, Provider: prov, Nav: emailNav{Slug: t.Slug, Active: "log"}}
	for _, e := range list {
		d.Emails = append(d.Emails, emailRow{e})
	}
	if next != "" {
		d.Next = f.url(t.Slug, "cursor", next)
	}
	d.Tabs = admin.FilterTabs(Statuses, f.Status, func(st string) string {
		tf := f
		tf.Status = st
		return tf.url(t.Slug)
	})
	return p.a.Render(w, r, op, http.StatusOK, "emails.html", d)
}

// header is one header line of an email as the page lists it.
type header struct{ Name, Value string }

// attachmentRow is an attachment without its content.
type attachmentRow struct {
	Filename, ContentType, ContentID string
	Size                             int
}

type detailData struct {
	Tenant      store.Tenant
	Email       emailRow
	Headers     []header // the message's own headers, then those given
	Attachments []attachmentRow
	Events      []eventRow
	Metadata    bool      // the email has metadata worth a block
	Job         *jobs.Row // the send job, when it is kept
	JobNote     string    // why there is no job to show
}

func (p *emailPages) detail(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	t, err := p.a.Tenant(r, op)
	if err != nil {
		return err
	}
	e, err := p.svc.Get(r.Context(), op.Actor, t.ID, r.PathValue("email"))
	if err != nil {
		return err
	}
	d := detailData{Tenant: t, Email: emailRow{e}, Headers: headersOf(e.Email)}
	switch strings.TrimSpace(string(e.Metadata)) {
	case "", "null", "{}":
	default:
		d.Metadata = true
	}
	for _, ev := range e.Events {
		d.Events = append(d.Events, eventRow{ev})
	}
	for _, a := range e.Attachments {
		d.Attachments = append(d.Attachments, attachmentRow{Filename: a.Filename, ContentType: a.ContentType, ContentID: a.ContentID, Size: len(a.Content)})
	}
	switch {
	case e.JobID == "":
		d.JobNote = "No send job recorded."
	default:
		j, err := p.jobs.Get(r.Context(), op.Actor, t.ID, e.JobID)
		switch {
		case errors.Is(err, core.ErrNotFound):
			d.JobNote = "The send job is no longer kept."
		case err != nil:
			return err
		default:
			d.Job = &jobs.Row{Job: j}
		}
	}
	return p.a.Render(w, r, op, http.StatusOK, "email.html", d)
}

// headersOf lists the headers the message carries: the addresses,
// subject and ids first, then the ones the app gave, sorted by name.
func headersOf(e Email) []header {
	var out []header
	add := func(name string, vals ...string) {
		if v := strings.Join(vals, ", "); v != "" {
			out = append(out, header{name, v})
		}
	}
	add("From", e.From)
	add("To", e.To...)
	add("Cc", e.Cc...)
	add("Bcc", e.Bcc...)
	add("Reply-To", e.ReplyTo...)
	add("Subject", e.Subject)
	add("Message-ID", "<"+e.MessageID+">")
	names := make([]string, 0, len(e.Headers))
	for k := range e.Headers {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		out = append(out, header{k, e.Headers[k]})
	}
	return out
}

type contactEmails struct {
	Tenant  store.Tenant
	Contact store.Contact
	Emails  []emailRow
	More    bool
}

// contactPanel gives the contact's latest emails, newest first.
func (p *emailPages) contactPanel(r *http.Request, op *admin.Op, t store.Tenant, c *store.Contact) (any, error) {
	list, next, err := p.svc.List(r.Context(), op.Actor, t.ID, store.Page{Limit: contactEmailsMax}, ListFilter{Filter: Filter{ContactID: c.ID}})
	if err != nil {
		return nil, err
	}
	out := &contactEmails{Tenant: t, Contact: *c, More: next != ""}
	for _, e := range list {
		out.Emails = append(out.Emails, emailRow{e})
	}
	return out, nil
}
