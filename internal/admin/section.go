package admin

import (
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
// optional navigation item, page templates and routes.
type Section struct {
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
}

// AddSection adds a section's navigation item, templates and routes. It may
// be called before or after Register, but not concurrently with it. It
// returns an error (and adds nothing) for a route outside /admin/, a
// template that does not parse or whose name is taken.
func (a *Admin) AddSection(s Section) error {
	pages := map[string]*template.Template{}
	if s.Templates != nil {
		var names []string
		err := fs.WalkDir(s.Templates, ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".html") {
				names = append(names, p)
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("admin: section templates: %w", err)
		}
		for _, name := range names {
			t, err := a.layout.Clone()
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
	for name, t := range pages {
		a.pages[name] = t
	}
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
