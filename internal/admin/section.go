package admin

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"slices"
	"strings"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/store"
)

// Op is the signed-in operator of a dashboard request.
type Op struct {
	Operator store.Operator
	Session  store.Session
	// Actor is the operator as core sees them, carrying the request's client
	// IP and correlation id: pass it to every core call so that the checks
	// of role and tenant scope run and the audit entry says who acted.
	Actor auth.Actor
}

// Can reports whether the operator's role holds permission p. Templates use
// it to hide what the role cannot do ({{if .Op.Can "keys.manage"}}); the
// server-side check in core is what counts.
func (o *Op) Can(p auth.Permission) bool { return o != nil && o.Actor.Can(p) }

// HandlerFunc serves a dashboard route for a signed-in operator. A returned
// error is shown as an error page: core's ErrNotFound as 404, ErrForbidden
// as 403, ErrInvalid as 400, ErrConflict as 409, anything else as 500 (and
// logged). A handler that wants to re-render its form with the message
// instead uses FormError.
type HandlerFunc func(w http.ResponseWriter, r *http.Request, op *Op) error

// NavItem is a link in the header navigation.
type NavItem struct {
	Label string
	Path  string
	// Perm, when set, hides the item from operators whose role lacks it.
	// Hiding is a courtesy: the pages behind it must still check.
	Perm auth.Permission
	// Order sorts the items. Built-in: Tenants 10, Operators 80, Audit log 90.
	Order int
}

// Section is a part of the dashboard that a system contributes: an
// optional navigation item, page templates and routes, links on the tenant
// page, panels on the tenant and contact pages, and its flash messages.
type Section struct {
	// Name names the section in errors ("jobs", "billing", ...).
	Name string
	// Nav, when set, adds a link to the header navigation.
	Nav *NavItem
	// Templates holds page templates (*.html, in any folder). Each
	// defines a "title" and a "content" template and is rendered inside the
	// shared layout by Render, under its path in Templates (for example
	// "jobs/list.html"; keep each system's pages in its own folder, since
	// names must be unique across sections).
	Templates fs.FS
	// Routes maps a ServeMux pattern under /admin/ (e.g. "GET
	// /admin/jobs/{id}") to its handler. Every route requires a signed-in
	// operator; every route whose method is not GET or HEAD also requires
	// the session's CSRF token in the form field "csrf" and a same-origin
	// request.
	Routes map[string]HandlerFunc
	// Partials holds templates (*.html) that define named templates for
	// every page of every section (a job's attempts, shown on the job page
	// and on the webhook event page, say). Options.Sections' partials are
	// parsed before any section's pages.
	Partials fs.FS
	// Flashes are the messages this section's redirects ask the next page
	// to show (?flash=code), by code, so that no free text travels in a URL.
	Flashes map[string]string
	// TenantLinks are links on the tenant page to the section's pages
	// under it ("Jobs" -> /admin/tenants/{slug}/jobs).
	TenantLinks []TenantLink
	// Panels are cards the section adds to the tenant and contact pages.
	Panels []Panel
}

// TenantLink is a link on the tenant page.
type TenantLink struct {
	Label string
	// Path is appended to /admin/tenants/{slug}, e.g. "/jobs".
	Path string
	// ID is the link's element id (browser tests find it by id).
	ID string
	// Instance shows the link on the instance's page too (/admin/tenants/_).
	Instance bool
}

// The pages a Panel can be on.
const (
	PanelTenant  = "tenant"  // GET /admin/tenants/{tenant} (and the instance's page)
	PanelContact = "contact" // GET /admin/tenants/{tenant}/contacts/{contact}
)

// Panel is a card a section adds to a page of the shell.
type Panel struct {
	// Page is PanelTenant or PanelContact.
	Page string
	// Template names a file of the section's Templates that renders the
	// card; it gets Data's value as "." and the shell's template functions.
	// It needs no "title" or "content".
	Template string
	// Data gives the panel's data for the page's tenant and, on the contact
	// page, its contact (nil on the tenant page). A nil value hides the
	// panel.
	Data func(r *http.Request, op *Op, t store.Tenant, c *store.Contact) (any, error)
}

// panel is a Panel with its parsed template.
type panel struct {
	Panel
	t *template.Template
}

// AddSection adds a section's navigation item, templates and routes. It may
// be called before or after Register, but not concurrently with it. It
// returns an error (and adds nothing) for a route outside /admin/, a
// template that does not parse or whose name is taken.
func (a *Admin) AddSection(s Section) error {
	pages := map[string]*template.Template{}
	var panels []panel
	panelFiles := map[string]bool{}
	for _, pn := range s.Panels {
		if pn.Page != PanelTenant && pn.Page != PanelContact {
			return fmt.Errorf("admin: section %s: panel page %q must be %q or %q", s.Name, pn.Page, PanelTenant, PanelContact)
		}
		if s.Templates == nil || pn.Data == nil {
			return fmt.Errorf("admin: section %s: panel %s needs Templates and Data", s.Name, pn.Template)
		}
		a.mu.RLock()
		base, err := a.layout.Clone()
		a.mu.RUnlock()
		if err != nil {
			return err
		}
		t, err := base.New(pn.Template).ParseFS(s.Templates, pn.Template)
		if err != nil {
			return fmt.Errorf("admin: section %s: panel %s: %w", s.Name, pn.Template, err)
		}
		panelFiles[pn.Template] = true
		panels = append(panels, panel{Panel: pn, t: t})
	}
	if s.Templates != nil {
		var names []string
		err := fs.WalkDir(s.Templates, ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".html") && !panelFiles[p] {
				names = append(names, p)
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("admin: section templates: %w", err)
		}
		for _, name := range names {
			a.mu.RLock()
			t, err := a.layout.Clone()
			a.mu.RUnlock()
			if err != nil {
				return err
			}
			if _, err := t.ParseFS(s.Templates, name); err != nil {
				return fmt.Errorf("admin: template %s: %w", name, err)
			}
			for _, need := range []string{"title", "content"} {
				if t.Lookup(need) == nil {
					return fmt.Errorf("admin: template %s does not define %q", name, need)
				}
			}
			pages[name] = t
		}
	}
	patterns := make([]string, 0, len(s.Routes))
	for p, h := range s.Routes {
		_, path, _ := strings.Cut(p, " ")
		if path == "" || !strings.HasPrefix(path, "/admin/") || strings.HasPrefix(path, "/admin/static/") {
			return fmt.Errorf("admin: route %q must be \"METHOD /admin/...\"", p)
		}
		if h == nil {
			return fmt.Errorf("admin: route %q has no handler", p)
		}
		patterns = append(patterns, p)
	}
	if err := a.checkPatterns(patterns); err != nil {
		return err
	}
	a.mu.Lock()
	for name := range pages {
		if _, taken := a.pages[name]; taken {
			a.mu.Unlock()
			return fmt.Errorf("admin: template name %q is already used by another section", name)
		}
	}
	for code := range s.Flashes {
		if _, taken := a.flashes[code]; taken {
			a.mu.Unlock()
			return fmt.Errorf("admin: flash code %q is already used by another section", code)
		}
	}
	for name, t := range pages {
		a.pages[name] = t
	}
	for code, msg := range s.Flashes {
		a.flashes[code] = msg
	}
	a.panels = append(a.panels, panels...)
	a.tenantLinks = append(a.tenantLinks, s.TenantLinks...)
	a.mu.Unlock()
	slices.Sort(patterns)
	for _, p := range patterns {
		a.mux.Handle(p, a.authed(s.Routes[p]))
	}
	a.mu.Lock()
	a.patterns = append(a.patterns, patterns...)
	a.mu.Unlock()
	if s.Nav != nil {
		a.AddNav(*s.Nav)
	}
	return nil
}

// checkPatterns reports whether patterns would conflict with the routes
// already registered (ServeMux panics on a conflict; a section gets an
// error instead, before anything of it is added).
func (a *Admin) checkPatterns(patterns []string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("admin: %v", r)
		}
	}()
	a.mu.RLock()
	all := append(slices.Clone(a.patterns), patterns...)
	a.mu.RUnlock()
	m := http.NewServeMux()
	for _, p := range all {
		m.Handle(p, http.NotFoundHandler())
	}
	return nil
}

// addPartials parses a section's partials into the layout every page is
// cloned from.
func (a *Admin) addPartials(s Section) error {
	if s.Partials == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := a.layout.ParseFS(s.Partials, "*.html"); err != nil {
		return fmt.Errorf("admin: section %s: partials: %w", s.Name, err)
	}
	return nil
}

// Panels renders the panels of page (PanelTenant or PanelContact) for
// tenant t (and contact c), in the order the sections were added: the
// section whose page hosts them shows them where it likes.
func (a *Admin) Panels(r *http.Request, op *Op, page string, t store.Tenant, c *store.Contact) ([]template.HTML, error) {
	a.mu.RLock()
	panels := slices.Clone(a.panels)
	a.mu.RUnlock()
	var out []template.HTML
	for _, pn := range panels {
		if pn.Page != page {
			continue
		}
		data, err := pn.Data(r, op, t, c)
		if err != nil {
			return nil, err
		}
		if data == nil {
			continue
		}
		var buf bytes.Buffer
		if err := pn.t.ExecuteTemplate(&buf, pn.Template, data); err != nil {
			return nil, fmt.Errorf("admin: render panel %s: %w", pn.Template, err)
		}
		out = append(out, template.HTML(buf.String())) // rendered by html/template: escaped already
	}
	return out, nil
}

// TenantLinks are the sections' links for the tenant page of t; the
// instance's page shows only those marked Instance.
func (a *Admin) TenantLinks(t store.Tenant) []TenantLink {
	a.mu.RLock()
	defer a.mu.RUnlock()
	var out []TenantLink
	for _, l := range a.tenantLinks {
		if t.ID != store.InstanceTenantID || l.Instance {
			out = append(out, l)
		}
	}
	return out
}

// AddNav adds a link to the header navigation (a Section's Nav does this).
func (a *Admin) AddNav(n NavItem) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.nav = append(a.nav, n)
	slices.SortStableFunc(a.nav, func(x, y NavItem) int { return x.Order - y.Order })
}

// navFor lists the navigation items op may see, marking the current one.
func (a *Admin) navFor(op *Op, path string) []navLink {
	a.mu.RLock()
	defer a.mu.RUnlock()
	var out []navLink
	for _, n := range a.nav {
		if n.Perm != "" && !op.Can(n.Perm) {
			continue
		}
		out = append(out, navLink{Label: n.Label, Path: n.Path,
			Active: path == n.Path || strings.HasPrefix(path, n.Path+"/")})
	}
	return out
}

type navLink struct {
	Label, Path string
	Active      bool
}

// Sub is the folder dir of a section's embedded files (its pages, its
// partials), for Section.Templates and Section.Partials.
func Sub(embedded fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(embedded, dir)
	if err != nil {
		panic(err) // fs.Sub fails only on an invalid path, and callers pass a fixed one
	}
	return sub
}
