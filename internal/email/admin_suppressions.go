package email

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/joist-dev/joist/internal/admin"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/store"
)

// The suppression list's pages, beside the log:
//
//	GET  /admin/tenants/{tenant}/emails/suppressions          the active suppressions: by address and category, 50 a page
//	POST /admin/tenants/{tenant}/emails/suppressions          suppress an address (source api)
//	POST /admin/tenants/{tenant}/emails/suppressions/release  release an address in one category
//
// The writes go through Service, which checks the jobs.write permission
// (viewers get 403) and audits them; the page hides the forms from an
// operator without it.

// emailNav is the email section's links (log, suppressions, domains) and
// the one being shown.
type emailNav struct {
	Slug   string
	Active string // log, suppressions or domains
}

// supQuery is the suppression list's search as given in the query string.
type supQuery struct{ Address, Category string }

func (f supQuery) url(slug string, extra ...string) string {
	q := url.Values{}
	if f.Address != "" {
		q.Set("address", f.Address)
	}
	if f.Category != "" {
		q.Set("category", f.Category)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	u := "/admin/tenants/" + url.PathEscape(slug) + "/emails/suppressions"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// supForm is the add form's values, kept when it is shown again with an
// error.
type supForm struct{ Address, Category, Reason, ExpiresAt string }

type supData struct {
	Nav          emailNav
	Tenant       store.Tenant
	Filter       supQuery
	Tabs         []admin.Tab // "all", then Categories
	Suppressions []Suppression
	Next         string
	Form         supForm
	CanWrite     bool
}

func (p *emailPages) suppressionsData(r *http.Request, op *admin.Op) (supData, error) {
	t, err := p.a.Tenant(r, op)
	if err != nil {
		return supData{}, err
	}
	q := r.URL.Query()
	f := supQuery{Address: strings.TrimSpace(q.Get("address")), Category: strings.TrimSpace(q.Get("category"))}
	list, next, err := p.svc.ListSuppressions(r.Context(), op.Actor, t.ID, store.Page{Limit: 50, Cursor: q.Get("cursor")}, f.Address, f.Category)
	if err != nil {
		return supData{}, err
	}
	d := supData{Nav: emailNav{Slug: t.Slug, Active: "suppressions"}, Tenant: t, Filter: f, Suppressions: list,
		Form: supForm{Category: "all"}, CanWrite: op.Can(auth.PermJobsWrite)}
	if next != "" {
		d.Next = f.url(t.Slug, "cursor", next)
	}
	d.Tabs = admin.FilterTabs(Categories, f.Category, func(c string) string {
		tf := f
		tf.Category = c
		return tf.url(t.Slug)
	})
	return d, nil
}

func (p *emailPages) suppressions(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	d, err := p.suppressionsData(r, op)
	if err != nil {
		return err
	}
	return p.a.Render(w, r, op, http.StatusOK, "suppressions.html", d)
}

// suppressionAdd suppresses the form's address; bad input shows the page
// again with the message and the values given.
func (p *emailPages) suppressionAdd(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	t, err := p.a.Tenant(r, op)
	if err != nil {
		return err
	}
	g := func(k string) string { return strings.TrimSpace(r.PostForm.Get(k)) }
	form := supForm{Address: g("address"), Category: g("category"), Reason: g("reason"), ExpiresAt: g("expires_at")}
	in := SuppressionInput{Category: form.Category, Reason: form.Reason}
	exp, err := parseWhen("expires_at", form.ExpiresAt)
	if err == nil {
		if !exp.IsZero() {
			in.ExpiresAt = &exp
		}
		_, err = p.svc.PutSuppression(r.Context(), op.Actor, t.ID, form.Address, in)
	}
	if err != nil {
		d, derr := p.suppressionsData(r, op)
		if derr != nil {
			return derr
		}
		d.Form = form
		return p.a.RenderForm(w, r, op, "suppressions.html", d, err)
	}
	addr, _ := suppressionAddress(form.Address)
	return admin.Redirect(w, r, supQuery{Address: addr}.url(t.Slug, "flash", "suppression_added"))
}

// suppressionRelease releases the form's address in its category.
func (p *emailPages) suppressionRelease(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	t, err := p.a.Tenant(r, op)
	if err != nil {
		return err
	}
	if err := p.svc.DeleteSuppression(r.Context(), op.Actor, t.ID, r.PostForm.Get("address"), r.PostForm.Get("category")); err != nil {
		return err
	}
	return admin.Redirect(w, r, supQuery{}.url(t.Slug, "flash", "suppression_released"))
}
