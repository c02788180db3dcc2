package email

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/joist-dev/joist/internal/admin"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/email/doctor"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// The sending domains' pages, for a tenant or the instance (slug _),
// which owns domains every tenant may send from:
//
//	GET  /admin/tenants/{tenant}/emails/domains                        the domains
//	GET  /admin/tenants/{tenant}/emails/domains/{domain}               records to publish, DKIM keys
//	POST /admin/tenants/{tenant}/emails/domains/{domain}/check         run the domain doctor, show its report
//	POST /admin/tenants/{tenant}/emails/domains/{domain}/rotate-dkim   a new pending key generation
//
// The check is a POST because it may write: a pending key whose record it
// finds published starts signing. Service checks the permissions (read
// for the check, as GET /v1/domains/{domain}/check; keys.manage for the
// rotation) and audits.

// domainRow is a domain as the list shows it.
type domainRow struct{ Domain }

// Selectors is the domain's keys by status ("joist20260101 (rsa, active)").
func (d domainRow) Selectors() string {
	var out []string
	for _, k := range d.Keys {
		if k.Status != KeyRetired {
			out = append(out, k.Selector+" ("+k.Algorithm+", "+k.Status+")")
		}
	}
	return strings.Join(out, ", ")
}

type domainsData struct {
	Nav     emailNav
	Tenant  store.Tenant
	Domains []domainRow
}

func (p *emailPages) domains(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	t, err := p.a.Tenant(r, op)
	if err != nil {
		return err
	}
	list, err := p.svc.ListDomains(r.Context(), op.Actor, t.ID)
	if err != nil {
		return err
	}
	d := domainsData{Nav: emailNav{Slug: t.Slug, Active: "domains"}, Tenant: t}
	for _, dm := range list {
		d.Domains = append(d.Domains, domainRow{dm})
	}
	return p.a.Render(w, r, op, http.StatusOK, "domains.html", d)
}

// checkRow is a line of the domain doctor's report.
type checkRow struct{ wire.DomainCheckItem }

// Badge is the badge class of the line's status.
func (c checkRow) Badge() string {
	switch c.Status {
	case wire.CheckPass:
		return "ok"
	case wire.CheckFail:
		return "revoked"
	}
	return ""
}

type domainData struct {
	Nav       emailNav
	Tenant    store.Tenant
	Domain    Domain
	Records   []wire.DomainRecord
	CanRotate bool // joist signs (smtp) and the operator may manage keys
	Check     []checkRow
	Checked   bool // the page shows a check's report
}

func (p *emailPages) domainData(r *http.Request, op *admin.Op) (domainData, error) {
	t, err := p.a.Tenant(r, op)
	if err != nil {
		return domainData{}, err
	}
	dm, err := p.svc.GetDomain(r.Context(), op.Actor, t.ID, r.PathValue("domain"))
	if err != nil {
		return domainData{}, err
	}
	return domainData{Nav: emailNav{Slug: t.Slug, Active: "domains"}, Tenant: t, Domain: dm, Records: Records(dm),
		CanRotate: dm.Provider == doctor.ProviderSMTP && op.Can(auth.PermKeysManage)}, nil
}

func (p *emailPages) domain(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	d, err := p.domainData(r, op)
	if err != nil {
		return err
	}
	return p.a.Render(w, r, op, http.StatusOK, "domain.html", d)
}

// domainCheck runs the check and shows the domain page with its report,
// read again (the check may have activated a key). A DNS server that does
// not answer is a message on the page (503), not an error page.
func (p *emailPages) domainCheck(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	d, err := p.domainData(r, op)
	if err != nil {
		return err
	}
	rep, err := p.svc.CheckDomain(r.Context(), op.Actor, d.Tenant.ID, d.Domain.Name)
	if errors.Is(err, ErrDNSUnavailable) {
		return p.a.RenderError(w, r, op, http.StatusServiceUnavailable, "domain.html", d,
			"The check could not run: "+err.Error()+" (JOIST_DNS_SERVER). Check again once it answers.")
	}
	if err != nil {
		return err
	}
	if d, err = p.domainData(r, op); err != nil {
		return err
	}
	d.Checked = true
	for _, c := range rep.Checks {
		d.Check = append(d.Check, checkRow{c})
	}
	return p.a.Render(w, r, op, http.StatusOK, "domain.html", d)
}

// domainRotate makes a new pending generation of keys; a rotation already
// pending shows the page again with the message (409).
func (p *emailPages) domainRotate(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	d, err := p.domainData(r, op)
	if err != nil {
		return err
	}
	if _, err := p.svc.RotateDKIM(r.Context(), op.Actor, d.Tenant.ID, d.Domain.Name); err != nil {
		return p.a.RenderForm(w, r, op, "domain.html", d, err)
	}
	return admin.Redirect(w, r, "/admin/tenants/"+url.PathEscape(d.Tenant.Slug)+"/emails/domains/"+url.PathEscape(d.Domain.Name)+"?flash=dkim_rotated")
}
