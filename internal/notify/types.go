package notify

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode/utf8"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// Type is a stored notification type, the tenant's or the instance's.
type Type struct {
	TenantID     string
	Name         string
	Channels     wire.NotificationChannels
	Defaults     map[string]bool
	Critical     bool
	Group        string
	DigestWindow string
	DigestKey    string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Has reports whether the type defines channel ch.
func (t Type) Has(ch string) bool {
	switch ch {
	case ChannelInApp:
		return t.Channels.InApp != nil
	case ChannelEmail:
		return t.Channels.Email != nil
	case ChannelPush:
		return t.Channels.Push != nil
	}
	return false
}

// Default is the type's default for channel ch (on unless said otherwise).
func (t Type) Default(ch string) bool {
	v, ok := t.Defaults[ch]
	return !ok || v
}

// Limits of a type.
const (
	maxTemplateBytes = 8 << 10
	minDigestWindow  = time.Minute
	maxDigestWindow  = 7 * 24 * time.Hour
)

// typeNameRE is what a type or group name may be: letters, digits and
// '.', '_', '-', ':', starting with a letter or digit, at most 128.
var typeNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// emailTemplateRE matches the email system's template names.
var emailTemplateRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)

func invalidf(field, code, format string, args ...any) error {
	return &core.Error{Kind: core.ErrInvalid, Code: code, Field: field, Message: field + ": " + fmt.Sprintf(format, args...)}
}

func checkTypeName(field, name string) error {
	if !typeNameRE.MatchString(name) {
		return invalidf(field, "invalid_type_name", "%q must be 1 to 128 characters of letters, digits, '.', '_', '-' and ':', starting with a letter or digit (such as booking.created)", name)
	}
	return nil
}

// parseContent parses one content template (text/template, missing keys
// an error) with the context email templates have: data, contact, tenant.
func parseContent(field, src string) (*texttemplate.Template, error) {
	if len(src) > maxTemplateBytes {
		return nil, invalidf(field, "template_too_large", "%d bytes; at most %d", len(src), maxTemplateBytes)
	}
	if !store.ValidText(src) {
		return nil, core.InvalidText(field)
	}
	t, err := texttemplate.New(field).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, invalidf(field, "invalid_template", "not a Go text/template: %v", err)
	}
	return t, nil
}

// checkType validates a type whole.
func checkType(name string, in wire.NotificationTypePut) error {
	if err := checkTypeName("path.type", name); err != nil {
		return err
	}
	ch := in.Channels
	if ch.InApp == nil && ch.Email == nil && ch.Push == nil {
		return invalidf("channels", "channels_required", "give at least one of in_app, email and push")
	}
	if c := ch.InApp; c != nil {
		if strings.TrimSpace(c.Title) == "" {
			return invalidf("channels.in_app.title", "title_required", "give the in-app title (a template)")
		}
		for f, src := range map[string]string{"title": c.Title, "body": c.Body, "url": c.URL} {
			if _, err := parseContent("channels.in_app."+f, src); err != nil {
				return err
			}
		}
	}
	if c := ch.Email; c != nil {
		if !emailTemplateRE.MatchString(c.Template) {
			return invalidf("channels.email.template", "invalid_template_name", "%q must name an email template (1 to 63 characters of a-z, 0-9, '_', '.' and '-')", c.Template)
		}
		if strings.ContainsAny(c.From, "\r\n") {
			return invalidf("channels.email.from", "header_injection", "an address may not contain a line break")
		}
		if _, err := mail.ParseAddress(c.From); c.From != "" && err != nil {
			return invalidf("channels.email.from", "invalid_address", "%q is not an email address (%v)", c.From, err)
		}
	}
	if c := ch.Push; c != nil {
		if strings.TrimSpace(c.Title) == "" {
			return invalidf("channels.push.title", "title_required", "give the push title (a template)")
		}
		for f, src := range map[string]string{"title": c.Title, "body": c.Body} {
			if _, err := parseContent("channels.push."+f, src); err != nil {
				return err
			}
		}
	}
	t := Type{Channels: ch}
	for k := range in.Defaults {
		if !isChannel(k) {
			return invalidf("defaults."+k, "unknown_channel", "%q is not a channel (in_app, email, push)", k)
		}
		if !t.Has(k) {
			return invalidf("defaults."+k, "channel_not_defined", "the type has no %s channel; define it under channels or leave its default out", k)
		}
	}
	if in.Group != "" {
		if err := checkTypeName("group", in.Group); err != nil {
			return err
		}
	}
	if d := in.Digest; d != nil {
		w, err := time.ParseDuration(d.Window)
		if err != nil {
			return invalidf("digest.window", "invalid_window", "%q is not a Go duration such as 10m or 1h", d.Window)
		}
		if w < minDigestWindow || w > maxDigestWindow {
			return invalidf("digest.window", "invalid_window", "%s is outside 1m to 168h", d.Window)
		}
		if _, err := parseContent("digest.key", d.Key); err != nil {
			return err
		}
	}
	return nil
}

func isChannel(s string) bool {
	for _, c := range Channels {
		if c == s {
			return true
		}
	}
	return false
}

// TypePut validates a type whole and creates or replaces the tenant's own
// type name (the instance's with the root key and no Joist-Tenant); it
// reports whether it created one.
func (s *Service) TypePut(ctx context.Context, a auth.Actor, tenantID, name string, in wire.NotificationTypePut) (Type, bool, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermJobsWrite); err != nil {
		return Type{}, false, err
	}
	if err := checkType(name, in); err != nil {
		return Type{}, false, err
	}
	now := s.now()
	t := Type{TenantID: tenantID, Name: name, Channels: in.Channels, Defaults: in.Defaults, Critical: in.Critical, Group: in.Group,
		CreatedAt: now, UpdatedAt: now}
	if t.Defaults == nil {
		t.Defaults = map[string]bool{}
	}
	if in.Digest != nil {
		t.DigestWindow, t.DigestKey = in.Digest.Window, in.Digest.Key
	}
	var created bool
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if t, created, err = typePut(ctx, tx.Tenant(tenantID), t); err != nil {
			return err
		}
		action := "notification_type.update"
		if created {
			action = "notification_type.create"
		}
		return s.core.Audit(ctx, tx, a, tenantID, action, "notification_type", name, map[string]any{"critical": t.Critical, "group": t.Group})
	})
	return t, created, err
}

// TypeGet returns the type name as the tenant resolves it: its own, else
// the instance's.
func (s *Service) TypeGet(ctx context.Context, a auth.Actor, tenantID, name string) (Type, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return Type{}, err
	}
	var t Type
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		t, err = typeFind(ctx, tx.Tenant(tenantID), name)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return Type{}, core.NotFound("notification type %s not found", quote(name))
	}
	return t, err
}

// TypeList lists the types the tenant resolves, by name: its own and the
// instance's it has none of the same name for.
func (s *Service) TypeList(ctx context.Context, a auth.Actor, tenantID string, p store.Page) ([]Type, string, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return nil, "", err
	}
	var out []Type
	var next string
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, next, err = typeList(ctx, tx.Tenant(tenantID), p)
		return err
	})
	return out, next, err
}

// TypeDelete deletes the tenant's own type name (the instance's, if any,
// then applies). Notifications already made stay.
func (s *Service) TypeDelete(ctx context.Context, a auth.Actor, tenantID, name string) error {
	if err := s.core.TenantAccess(a, tenantID, auth.PermJobsWrite); err != nil {
		return err
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := typeDelete(ctx, tx.Tenant(tenantID), name); err != nil {
			return err
		}
		return s.core.Audit(ctx, tx, a, tenantID, "notification_type.delete", "notification_type", name, nil)
	})
	if errors.Is(err, store.ErrNotFound) {
		return core.NotFound("notification type %s not found", quote(name))
	}
	return err
}

// quote quotes a name for a message, cut at 80 bytes.
func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	if !utf8.ValidString(s) {
		return fmt.Sprintf("%q", s)
	}
	return `"` + s + `"`
}
