package operators

import (
	"context"
	"embed"
	"net/http"
	"slices"

	"github.com/joist-dev/joist/internal/admin"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
)

//go:embed pages
var pagesFS embed.FS

// pages serves the operators section with the service it was given.
type pages struct {
	a   *admin.Admin
	svc *Service
}

// AdminSection is the operators part of the dashboard: the operator list
// with the invite form, and each operator's page to change their role,
// tenant reach and disabled state.
func (s *Service) AdminSection() admin.SectionFunc {
	return func(a *admin.Admin) admin.Section {
		p := &pages{a: a, svc: s}
		return admin.Section{Name: "operators", Templates: admin.Sub(pagesFS, "pages"),
			Nav:     &admin.NavItem{Label: "Operators", Path: "/admin/operators", Order: 80},
			Flashes: map[string]string{"operator_updated": "The operator was saved."},
			Routes: map[string]admin.HandlerFunc{
				"GET /admin/operators":       p.list,
				"POST /admin/operators":      p.invite,
				"GET /admin/operators/{id}":  p.operator,
				"POST /admin/operators/{id}": p.update,
			}}
	}
}

// operatorForm is the invite and edit form, as typed.
type operatorForm struct {
	Email      string
	Name       string
	Role       string
	AllTenants bool
	TenantIDs  []string
	Disabled   bool
}

// Chose reports whether tenant id is ticked in the form.
func (f operatorForm) Chose(id string) bool { return slices.Contains(f.TenantIDs, id) }

func readOperatorForm(r *http.Request) operatorForm {
	return operatorForm{Email: r.PostForm.Get("email"), Name: r.PostForm.Get("name"), Role: r.PostForm.Get("role"),
		AllTenants: r.PostForm.Get("scope") == "all", TenantIDs: r.PostForm["tenant"], Disabled: r.PostForm.Get("disabled") == "on"}
}

func (f operatorForm) input() Input {
	in := Input{Email: f.Email, Name: f.Name, Role: f.Role, AllTenants: f.AllTenants, Disabled: f.Disabled}
	if !f.AllTenants {
		in.TenantIDs = slices.Clone(f.TenantIDs)
	}
	return in
}

type operatorsData struct {
	Operators []store.Operator
	Operator  store.Operator // the one edited
	Form      operatorForm
	// What the form offers: the roles this operator may grant, the tenants
	// in their scope, and "all tenants" only to those who reach them all.
	Roles         []auth.Role
	Tenants       []store.Tenant
	TenantSlugs   map[string]string
	CanAllTenants bool
	CanWrite      bool
}

// operatorsData gathers what the operator pages show; the tenant choice
// lists the first 500 tenants in scope.
func (p *pages) operatorsData(ctx context.Context, op *admin.Op) (operatorsData, error) {
	d := operatorsData{CanAllTenants: op.Actor.AllTenants, CanWrite: op.Can(auth.PermOperatorsWrite),
		Form: operatorForm{Role: string(auth.RoleViewer)}, TenantSlugs: map[string]string{}}
	for _, role := range auth.Roles {
		if role != auth.RoleOwner || op.Can(auth.PermOwnersWrite) {
			d.Roles = append(d.Roles, role)
		}
	}
	var err error
	if d.Operators, err = p.svc.core.OperatorList(ctx, op.Actor); err != nil {
		return d, err
	}
	if d.Tenants, _, err = p.svc.core.TenantList(ctx, op.Actor, store.Page{Limit: 500}); err != nil {
		return d, err
	}
	for _, t := range d.Tenants {
		d.TenantSlugs[t.ID] = t.Slug
	}
	return d, nil
}

func (p *pages) list(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	d, err := p.operatorsData(r.Context(), op)
	if err != nil {
		return err
	}
	return p.a.Render(w, r, op, http.StatusOK, "operators.html", d)
}

func (p *pages) invite(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	f := readOperatorForm(r)
	o, token, err := p.svc.Invite(r.Context(), op.Actor, f.input())
	if err != nil {
		d, lerr := p.operatorsData(r.Context(), op)
		if lerr != nil {
			return lerr
		}
		d.Form = f
		return p.a.RenderForm(w, r, op, "operators.html", d, err)
	}
	return p.a.Render(w, r, op, http.StatusOK, "invite_created.html",
		map[string]any{"Operator": o, "Link": p.a.BaseURL() + "/admin/invite/" + token})
}

// operatorData is operatorsData for the operator of the path, which must be
// among those op may see.
func (p *pages) operatorData(r *http.Request, op *admin.Op) (operatorsData, error) {
	d, err := p.operatorsData(r.Context(), op)
	if err != nil {
		return d, err
	}
	i := slices.IndexFunc(d.Operators, func(o store.Operator) bool { return o.ID == r.PathValue("id") })
	if i < 0 {
		return d, &core.Error{Kind: core.ErrNotFound, Code: "not_found", Message: "operator not found"}
	}
	o := d.Operators[i]
	d.Operator = o
	d.Form = operatorForm{Email: o.Email, Name: o.Name, Role: o.Role, AllTenants: o.AllTenants,
		TenantIDs: o.TenantIDs, Disabled: o.DisabledAt != nil}
	d.CanWrite = d.CanWrite && (o.Role != string(auth.RoleOwner) || op.Can(auth.PermOwnersWrite))
	return d, nil
}

func (p *pages) operator(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	d, err := p.operatorData(r, op)
	if err != nil {
		return err
	}
	return p.a.Render(w, r, op, http.StatusOK, "operator.html", d)
}

func (p *pages) update(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	f := readOperatorForm(r)
	id := r.PathValue("id")
	if _, err := p.svc.Update(r.Context(), op.Actor, id, f.input()); err != nil {
		d, lerr := p.operatorData(r, op)
		if lerr != nil {
			return lerr
		}
		f.Email = d.Operator.Email
		d.Form = f
		return p.a.RenderForm(w, r, op, "operator.html", d, err)
	}
	return admin.Redirect(w, r, "/admin/operators/"+id+"?flash=operator_updated")
}
