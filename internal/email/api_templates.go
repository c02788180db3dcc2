package email

import (
	"net/http"

	"github.com/joist-dev/joist/internal/httpapi"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// templateRoutes are the routes of templates and layouts. With the root
// key and no Joist-Tenant they act on the instance's own (Instance), which
// every tenant renders when it has none of the name.
func (a *api) templateRoutes() []httpapi.Route {
	return []httpapi.Route{
		{Method: "PUT", Pattern: "/v1/email/templates/{name}", Tenant: "header", Instance: true, Handler: a.templatePut},
		{Method: "GET", Pattern: "/v1/email/templates", Tenant: "header", Instance: true, Handler: a.templateList},
		{Method: "GET", Pattern: "/v1/email/templates/{name}", Tenant: "header", Instance: true, Handler: a.templateGet},
		{Method: "DELETE", Pattern: "/v1/email/templates/{name}", Tenant: "header", Instance: true, Handler: a.templateDelete},
		{Method: "POST", Pattern: "/v1/email/templates/{name}/preview", Tenant: "header", Instance: true, Handler: a.preview},
		{Method: "PUT", Pattern: "/v1/email/layouts/{name}", Tenant: "header", Instance: true, Handler: a.layoutPut},
		{Method: "GET", Pattern: "/v1/email/layouts", Tenant: "header", Instance: true, Handler: a.layoutList},
		{Method: "GET", Pattern: "/v1/email/layouts/{name}", Tenant: "header", Instance: true, Handler: a.layoutGet},
		{Method: "DELETE", Pattern: "/v1/email/layouts/{name}", Tenant: "header", Instance: true, Handler: a.layoutDelete},
	}
}

// owner says whose a template or layout is, as the caller sees it.
func owner(tenantID string) string {
	if tenantID == store.InstanceTenantID {
		return "instance"
	}
	return "tenant"
}

// TemplateView is a template as the API shows it.
func TemplateView(t Template) wire.EmailTemplate {
	v := wire.EmailTemplate{Name: t.Name, Owner: owner(t.TenantID), DefaultLocale: t.DefaultLocale, Layout: t.Layout, Variants: t.Variants,
		CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC()}
	if v.Variants == nil {
		v.Variants = map[string]wire.EmailTemplateVariant{}
	}
	return v
}

// LayoutView is a layout as the API shows it.
func LayoutView(l Layout) wire.EmailLayout {
	return wire.EmailLayout{Name: l.Name, Owner: owner(l.TenantID), HTML: l.HTML, CreatedAt: l.CreatedAt.UTC(), UpdatedAt: l.UpdatedAt.UTC()}
}

func created(ok bool) int {
	if ok {
		return http.StatusCreated
	}
	return http.StatusOK
}

func (a *api) templatePut(w http.ResponseWriter, r *httpapi.Request) error {
	var in wire.EmailTemplatePut
	if err := httpapi.Decode(r.Request, &in); err != nil {
		return err
	}
	t, ok, err := a.svc.TemplatePut(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("name"), in)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, created(ok), TemplateView(t))
}

func (a *api) templateGet(w http.ResponseWriter, r *httpapi.Request) error {
	t, err := a.svc.TemplateGet(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("name"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, TemplateView(t))
}

func (a *api) templateList(w http.ResponseWriter, r *httpapi.Request) error {
	p, err := httpapi.ParsePage(r.Request)
	if err != nil {
		return err
	}
	items, next, err := a.svc.TemplateList(r.Context(), r.Actor, r.Tenant.ID, p)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, httpapi.List[wire.EmailTemplate]{Data: httpapi.MapSlice(items, TemplateView), NextCursor: next})
}

func (a *api) templateDelete(w http.ResponseWriter, r *httpapi.Request) error {
	if err := a.svc.TemplateDelete(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) preview(w http.ResponseWriter, r *httpapi.Request) error {
	var in wire.EmailPreviewRequest
	if err := httpapi.Decode(r.Request, &in); err != nil {
		return err
	}
	m, err := a.svc.Preview(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("name"), PreviewInput{Locale: in.Locale, Data: in.Data, Contact: in.Contact})
	if err != nil {
		return edge(err)
	}
	return httpapi.WriteJSON(w, http.StatusOK, wire.EmailPreview{Locale: m.Locale, Subject: m.Subject, Preheader: m.Preheader, HTML: m.HTML, Text: m.Text})
}

func (a *api) layoutPut(w http.ResponseWriter, r *httpapi.Request) error {
	var in wire.EmailLayoutPut
	if err := httpapi.Decode(r.Request, &in); err != nil {
		return err
	}
	l, ok, err := a.svc.LayoutPut(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("name"), in)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, created(ok), LayoutView(l))
}

func (a *api) layoutGet(w http.ResponseWriter, r *httpapi.Request) error {
	l, err := a.svc.LayoutGet(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("name"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, LayoutView(l))
}

func (a *api) layoutList(w http.ResponseWriter, r *httpapi.Request) error {
	p, err := httpapi.ParsePage(r.Request)
	if err != nil {
		return err
	}
	items, next, err := a.svc.LayoutList(r.Context(), r.Actor, r.Tenant.ID, p)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, httpapi.List[wire.EmailLayout]{Data: httpapi.MapSlice(items, LayoutView), NextCursor: next})
}

func (a *api) layoutDelete(w http.ResponseWriter, r *httpapi.Request) error {
	if err := a.svc.LayoutDelete(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
