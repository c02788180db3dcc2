package email

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"unicode/utf8"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/email/render"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// Templates and layouts belong to a tenant or to the instance (the root
// key without Joist-Tenant). A tenant renders its own template or layout
// of a name, else the instance's: the template and, separately, the layout
// it names, so a tenant may brand the instance's templates with its own
// layout of the same name. Writes and deletes touch the caller's own only.

// nameRE is what a template or layout name may be: it is a path segment
// and what sends give as template.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)

func checkName(field, kind, name string) error {
	if !nameRE.MatchString(name) {
		return invalidf(field, "invalid_name", "%s name %q must be 1 to 63 characters of a-z, 0-9, '_', '.' and '-', starting with a letter or digit", kind, name)
	}
	return nil
}

// parseStored parses a stored template; it was valid when saved.
func parseStored(t Template) (*render.Template, error) {
	return render.ParseTemplate(wire.EmailTemplatePut{DefaultLocale: t.DefaultLocale, Layout: t.Layout, Variants: t.Variants})
}

// TemplatePut validates a template whole (every part of every variant
// parsed) and creates or replaces the tenant's own template name; it
// reports whether it created one. A layout it names need not exist yet:
// it is looked up at each render (a send or preview without it is 422
// missing_layout).
func (s *Service) TemplatePut(ctx context.Context, a auth.Actor, tenantID, name string, in wire.EmailTemplatePut) (Template, bool, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermJobsWrite); err != nil {
		return Template{}, false, err
	}
	if err := checkName("name", "template", name); err != nil {
		return Template{}, false, err
	}
	if in.Layout != "" {
		if err := checkName("layout", "layout", in.Layout); err != nil {
			return Template{}, false, err
		}
	}
	if err := render.Validate(in); err != nil {
		return Template{}, false, err
	}
	now := s.now()
	t := Template{Name: name, DefaultLocale: in.DefaultLocale, Layout: in.Layout, Variants: in.Variants, CreatedAt: now, UpdatedAt: now}
	var created bool
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if t, created, err = (scope{tx.Tenant(tenantID)}).templatePut(ctx, t); err != nil {
			return err
		}
		action := "email_template.update"
		if created {
			action = "email_template.create"
		}
		return s.core.Audit(ctx, tx, a, tenantID, action, "email_template", name, map[string]any{"locales": len(in.Variants), "layout": in.Layout})
	})
	return t, created, err
}

// TemplateGet returns the template name as the tenant renders it: its
// own, else the instance's.
func (s *Service) TemplateGet(ctx context.Context, a auth.Actor, tenantID, name string) (Template, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return Template{}, err
	}
	var t Template
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		t, err = scope{tx.Tenant(tenantID)}.templateFind(ctx, name)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return Template{}, core.NotFound("email template %q not found", name)
	}
	return t, err
}

// TemplateList lists the templates the tenant renders, by name: its own
// and the instance's it does not replace.
func (s *Service) TemplateList(ctx context.Context, a auth.Actor, tenantID string, p store.Page) ([]Template, string, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return nil, "", err
	}
	var out []Template
	var next string
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, next, err = scope{tx.Tenant(tenantID)}.templateList(ctx, p)
		return err
	})
	return out, next, err
}

// TemplateDelete deletes the tenant's own template name (not the
// instance's; with it gone, the tenant renders the instance's of that
// name, if any).
func (s *Service) TemplateDelete(ctx context.Context, a auth.Actor, tenantID, name string) error {
	if err := s.core.TenantAccess(a, tenantID, auth.PermJobsWrite); err != nil {
		return err
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := (scope{tx.Tenant(tenantID)}).templateDelete(ctx, name); err != nil {
			return err
		}
		return s.core.Audit(ctx, tx, a, tenantID, "email_template.delete", "email_template", name, nil)
	})
	if errors.Is(err, store.ErrNotFound) {
		return core.NotFound("email template %q not found", name)
	}
	return err
}

// LayoutPut validates a layout (html/template syntax, {{.content}} used)
// and creates or replaces the tenant's own layout name.
func (s *Service) LayoutPut(ctx context.Context, a auth.Actor, tenantID, name string, in wire.EmailLayoutPut) (Layout, bool, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermJobsWrite); err != nil {
		return Layout{}, false, err
	}
	if err := checkName("name", "layout", name); err != nil {
		return Layout{}, false, err
	}
	if _, err := render.ParseLayout(name, in.HTML); err != nil {
		return Layout{}, false, err
	}
	now := s.now()
	l := Layout{Name: name, HTML: in.HTML, CreatedAt: now, UpdatedAt: now}
	var created bool
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if l, created, err = (scope{tx.Tenant(tenantID)}).layoutPut(ctx, l); err != nil {
			return err
		}
		action := "email_layout.update"
		if created {
			action = "email_layout.create"
		}
		return s.core.Audit(ctx, tx, a, tenantID, action, "email_layout", name, nil)
	})
	return l, created, err
}

// LayoutGet returns the layout name as the tenant renders it: its own,
// else the instance's.
func (s *Service) LayoutGet(ctx context.Context, a auth.Actor, tenantID, name string) (Layout, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return Layout{}, err
	}
	var l Layout
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		l, err = scope{tx.Tenant(tenantID)}.layoutFind(ctx, name)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return Layout{}, core.NotFound("email layout %q not found", name)
	}
	return l, err
}

// LayoutList lists the layouts the tenant renders, by name.
func (s *Service) LayoutList(ctx context.Context, a auth.Actor, tenantID string, p store.Page) ([]Layout, string, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return nil, "", err
	}
	var out []Layout
	var next string
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, next, err = scope{tx.Tenant(tenantID)}.layoutList(ctx, p)
		return err
	})
	return out, next, err
}

// LayoutDelete deletes the tenant's own layout name. Templates that name
// it are not checked: they render with the instance's layout of that name
// if there is one, else their sends and previews answer 422
// missing_layout until a layout of that name is saved again.
func (s *Service) LayoutDelete(ctx context.Context, a auth.Actor, tenantID, name string) error {
	if err := s.core.TenantAccess(a, tenantID, auth.PermJobsWrite); err != nil {
		return err
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := (scope{tx.Tenant(tenantID)}).layoutDelete(ctx, name); err != nil {
			return err
		}
		return s.core.Audit(ctx, tx, a, tenantID, "email_layout.delete", "email_layout", name, nil)
	})
	if errors.Is(err, store.ErrNotFound) {
		return core.NotFound("email layout %q not found", name)
	}
	return err
}

// PreviewInput renders a template without sending it.
type PreviewInput struct {
	Locale  string
	Data    json.RawMessage
	Contact string // external id
}

// Preview renders the template name as a send with the same locale, data
// and contact would: the same variant, the same 422 for a missing
// variable.
func (s *Service) Preview(ctx context.Context, a auth.Actor, tenantID, name string, in PreviewInput) (render.Message, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return render.Message{}, err
	}
	data, err := render.DecodeData(in.Data)
	if err != nil {
		return render.Message{}, err
	}
	var msg render.Message
	err = s.db.Read(ctx, func(tx *store.Tx) error {
		sc := tx.Tenant(tenantID)
		var contact *store.Contact
		if in.Contact != "" {
			c, err := sc.ContactGet(ctx, in.Contact)
			if errors.Is(err, store.ErrNotFound) {
				return core.NotFound("contact %q not found", in.Contact)
			}
			if err != nil {
				return err
			}
			contact = &c
		}
		msg, err = s.renderTemplate(ctx, sc, name, in.Locale, data, contact)
		return err
	})
	return msg, err
}

// renderTemplate renders the template name the scope's tenant renders (its
// own, else the instance's) with the layout it names (found the same way),
// in locale, else the contact's locale, else the template's default.
func (s *Service) renderTemplate(ctx context.Context, sc *store.Scope, name, locale string, data map[string]any, c *store.Contact) (render.Message, error) {
	q := scope{sc}
	t, tn, err := q.templateForRender(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return render.Message{}, &core.Error{Kind: core.ErrNotFound, Code: "not_found", Field: "template",
			Message: "email template " + quoteName(name) + " not found (neither the tenant's nor the instance's); create it with PUT /v1/email/templates/{name}"}
	}
	if err != nil {
		return render.Message{}, err
	}
	tmpl, err := s.parsed.template(t)
	if err != nil {
		return render.Message{}, err
	}
	var layout *render.Layout
	if t.Layout != "" {
		l, err := q.layoutFind(ctx, t.Layout)
		switch {
		case err == nil:
			if layout, err = s.parsed.layout(l); err != nil {
				return render.Message{}, err
			}
		case !errors.Is(err, store.ErrNotFound):
			return render.Message{}, err
		}
	}
	rc := render.Context{Data: data, Tenant: render.Tenant{Slug: tn.Slug, Name: tn.Name}}
	if c != nil {
		meta, err := render.DecodeData(c.Metadata)
		if err != nil {
			meta = map[string]any{} // contacts' metadata is an object; never fail a send on it
		}
		rc.Contact = &render.Contact{ExternalID: c.ExternalID, Email: c.Email, Name: c.Name, Locale: c.Locale, Timezone: c.Timezone, Metadata: meta}
	}
	return render.Render(tmpl, layout, rc, locale)
}

// renderSend renders a template send into e, in its transaction: the
// subject, HTML and text a send with its own content would carry, and the
// locale rendered. A render error (422 for data that does not fit) fails
// the send whole, storing nothing.
func (s *Service) renderSend(ctx context.Context, sc *store.Scope, e *Email, data map[string]any, c *store.Contact) error {
	msg, err := s.renderTemplate(ctx, sc, e.Template, e.Locale, data, c)
	if err != nil {
		return err
	}
	if n := utf8.RuneCountInString(msg.Subject); n > maxSubject {
		return &core.Error{Kind: core.ErrInvalid, Code: render.CodeInvalidSubject,
			Message: fmt.Sprintf("the rendered subject has %d characters; at most %d", n, maxSubject)}
	}
	e.Subject, e.HTML, e.Text, e.Locale = msg.Subject, msg.HTML, msg.Text, msg.Locale
	return nil
}

// quoteName quotes a name for a message, cut at 80 bytes.
func quoteName(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	b, _ := json.Marshal(s)
	return string(b)
}
