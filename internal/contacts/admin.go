package contacts

import (
	"embed"
	"net/http"
	"strings"

	"github.com/joist-dev/joist/internal/admin"
	"github.com/joist-dev/joist/internal/store"
)

//go:embed pages
var pagesFS embed.FS

// pages serves the contacts section with the service it was given.
type pages struct {
	a   *admin.Admin
	svc *Service
}

// AdminSection is the contacts part of the dashboard: the search card and
// the "Contacts" link on the tenant page, the contact list, and the contact
// page with its timeline, which hosts every section's contact panels
// (admin.PanelContact).
func (s *Service) AdminSection() admin.SectionFunc {
	return func(a *admin.Admin) admin.Section {
		p := &pages{a: a, svc: s}
		return admin.Section{Name: "contacts", Templates: admin.Sub(pagesFS, "pages"),
			TenantLinks: []admin.TenantLink{{Label: "Contacts", Path: "/contacts", ID: "tenant-contacts"}},
			Panels: []admin.Panel{{Page: admin.PanelTenant, Template: "search_panel.html",
				Data: func(r *http.Request, op *admin.Op, t store.Tenant, c *store.Contact) (any, error) {
					if t.ID == store.InstanceTenantID {
						return nil, nil // the instance has no contacts
					}
					return t, nil
				}}},
			Routes: map[string]admin.HandlerFunc{
				"GET /admin/tenants/{tenant}/contacts":           p.search,
				"GET /admin/tenants/{tenant}/contacts/{contact}": p.contact,
			}}
	}
}

func (p *pages) search(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	t, err := p.a.Tenant(r, op)
	if err != nil {
		return err
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	cs, next, err := p.svc.List(r.Context(), op.Actor, t.ID, store.Page{Limit: 50, Cursor: r.URL.Query().Get("cursor")}, q)
	if err != nil {
		return err
	}
	return p.a.Render(w, r, op, http.StatusOK, "contacts.html",
		map[string]any{"Tenant": t, "Q": q, "Contacts": cs, "Next": admin.NextURL(r, next)})
}

func (p *pages) contact(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	t, err := p.a.Tenant(r, op)
	if err != nil {
		return err
	}
	c, err := p.svc.core.ContactGet(r.Context(), op.Actor, t.ID, r.PathValue("contact"))
	if err != nil {
		return err
	}
	entries, next, err := p.svc.Timeline(r.Context(), op.Actor, t.ID, c.ExternalID, store.Page{Limit: 50, Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		return err
	}
	panels, err := p.a.Panels(r, op, admin.PanelContact, t, &c)
	if err != nil {
		return err
	}
	return p.a.Render(w, r, op, http.StatusOK, "contact.html",
		map[string]any{"Tenant": t, "Contact": c, "Timeline": entries, "Next": admin.NextURL(r, next), "Panels": panels})
}
