package admin

import (
	"context"
	"net/http"
	"slices"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
)

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

func (f operatorForm) input() core.OperatorInput {
	in := core.OperatorInput{Email: f.Email, Name: f.Name, Role: f.Role, AllTenants: f.AllTenants, Disabled: f.Disabled}
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
func (a *Admin) operatorsData(ctx context.Context, op *Op) (operatorsData, error) {
	d := operatorsData{CanAllTenants: op.Actor.AllTenants, CanWrite: op.Can(auth.PermOperatorsWrite),
		Form: operatorForm{Role: string(auth.RoleViewer)}, TenantSlugs: map[string]string{}}
	for _, role := range auth.Roles {
		if role != auth.RoleOwner || op.Can(auth.PermOwnersWrite) {
			d.Roles = append(d.Roles, role)
		}
	}
	var err error
	if d.Operators, err = a.core.OperatorList(ctx, op.Actor); err != nil {
		return d, err
	}
	if d.Tenants, _, err = a.core.TenantList(ctx, op.Actor, store.Page{Limit: 500}); err != nil {
		return d, err
	}
	for _, t := range d.Tenants {
		d.TenantSlugs[t.ID] = t.Slug
	}
	return d, nil
}

func (a *Admin) operatorsPage(w http.ResponseWriter, r *http.Request, op *Op) error {
	d, err := a.operatorsData(r.Context(), op)
	if err != nil {
		return err
	}
	return a.Render(w, r, op, http.StatusOK, "operators.html", d)
}

func (a *Admin) operatorInvite(w http.ResponseWriter, r *http.Request, op *Op) error {
	f := readOperatorForm(r)
	o, token, err := a.core.OperatorInvite(r.Context(), op.Actor, f.input())
	if err != nil {
		d, lerr := a.operatorsData(r.Context(), op)
		if lerr != nil {
			return lerr
		}
		d.Form = f
		return a.RenderForm(w, r, op, "operators.html", d, err)
	}
	return a.Render(w, r, op, http.StatusOK, "invite_created.html",
		map[string]any{"Operator": o, "Link": a.opts.BaseURL + "/admin/invite/" + token})
}

// operatorData is operatorsData for the operator of the path, which must be
// among those op may see.
func (a *Admin) operatorData(r *http.Request, op *Op) (operatorsData, error) {
	d, err := a.operatorsData(r.Context(), op)
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

func (a *Admin) operatorPage(w http.ResponseWriter, r *http.Request, op *Op) error {
	d, err := a.operatorData(r, op)
	if err != nil {
		return err
	}
	return a.Render(w, r, op, http.StatusOK, "operator.html", d)
}

func (a *Admin) operatorUpdate(w http.ResponseWriter, r *http.Request, op *Op) error {
	f := readOperatorForm(r)
	id := r.PathValue("id")
	if _, err := a.core.OperatorUpdate(r.Context(), op.Actor, id, f.input()); err != nil {
		d, lerr := a.operatorData(r, op)
		if lerr != nil {
			return lerr
		}
		f.Email = d.Operator.Email
		d.Form = f
		return a.RenderForm(w, r, op, "operator.html", d, err)
	}
	return Redirect(w, r, "/admin/operators/"+id+"?flash=operator_updated")
}
