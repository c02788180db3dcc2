package email

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/egress"
	"github.com/joist-dev/joist/internal/store"
)

// A tenant sends through its own provider (PUT /v1/email/settings) when it
// has one, else through the instance's, which the configuration sets
// (JOIST_EMAIL_PROVIDER ...) and Options.Provider carries. A tenant's own
// provider account is its own: its own rate-limit key, and its destinations
// (API base, SMTP relay) are of the guarded client's Customer class, since a
// tenant, not the operator, chose them.

// Provider names.
const (
	ProviderOutbox   = "outbox"
	ProviderSMTP     = "smtp"
	ProviderResend   = "resend"
	ProviderPostmark = "postmark"
)

// Sources of the provider a tenant sends through.
const (
	SourceTenant   = "tenant"
	SourceInstance = "instance"
)

// maxSettingLen bounds each field of the settings.
const maxSettingLen = 2048

// ProviderSettings are a provider's settings as given: the instance's from
// the configuration (Options.Instance, shown as hints), or a tenant's own.
type ProviderSettings struct {
	Provider            string // outbox, smtp, resend or postmark
	SMTPURL             string // with its password
	ResendAPIKey        string
	ResendAPIBase       string
	PostmarkServerToken string
	PostmarkAPIBase     string
	Rate                int // requests a second; 0: the provider's default
}

// SettingsInfo is the provider a tenant sends through, without secrets.
type SettingsInfo struct {
	Source   string // SourceTenant or SourceInstance
	Provider string // the provider in effect
	// Base is the SMTP URL without its password, or the API base URL ("":
	// the provider's default); shown for the tenant's own and, to the root
	// key without Joist-Tenant, for the instance's.
	Base       string
	SecretHint string
	Rate       int  // requests a second (0: unlimited)
	ReadOnly   bool // the instance's own: from the configuration
	UpdatedAt  *time.Time
}

// GetSettings answers the provider tenantID sends through. The instance's
// tenant (the root key without Joist-Tenant) sees the instance's settings
// with hints; a tenant without its own sees only the instance's provider
// name (its base URLs and relay are the operator's).
func (s *Service) GetSettings(ctx context.Context, a auth.Actor, tenantID string) (SettingsInfo, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return SettingsInfo{}, err
	}
	inst := SettingsInfo{Source: SourceInstance, Provider: s.opts.Provider.Name(), Rate: s.opts.Rate}
	if inst.Provider == ProviderOutbox {
		inst.Rate = 0
	}
	if tenantID == store.InstanceTenantID {
		inst.ReadOnly = true
		inst.Base, inst.SecretHint = instanceHints(s.opts.Instance)
		return inst, nil
	}
	var st Settings
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		st, err = settingsGet(ctx, tx, tenantID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return inst, nil
	}
	if err != nil {
		return SettingsInfo{}, err
	}
	return st.info(), nil
}

// instanceHints are the instance's base and secret hint, from the configuration.
func instanceHints(p ProviderSettings) (base, hint string) {
	switch p.Provider {
	case ProviderSMTP:
		base, secret, _ := splitSMTPURL(p.SMTPURL)
		return base, secretHint(secret)
	case ProviderResend:
		return p.ResendAPIBase, secretHint(p.ResendAPIKey)
	case ProviderPostmark:
		return p.PostmarkAPIBase, secretHint(p.PostmarkServerToken)
	}
	return "", ""
}

func (st Settings) info() SettingsInfo {
	u := st.UpdatedAt.UTC()
	rate := st.Rate
	if rate == 0 {
		rate = defaultRate(st.Provider)
	}
	return SettingsInfo{Source: SourceTenant, Provider: st.Provider, Base: st.Base, SecretHint: st.SecretHint, Rate: rate, UpdatedAt: &u}
}

// defaultRate is a provider's requests a second when none is set.
func defaultRate(provider string) int {
	switch provider {
	case ProviderResend:
		return (&Resend{}).DefaultRate()
	case ProviderPostmark:
		return (&Postmark{}).DefaultRate()
	}
	return 0
}

// errInstanceSettings answers a write of the instance's settings.
func errInstanceSettings() error {
	return core.Invalid("instance_settings_from_config", "the instance's email provider comes from the configuration "+
		"(JOIST_EMAIL_PROVIDER, JOIST_SMTP_URL, JOIST_RESEND_API_KEY, JOIST_POSTMARK_SERVER_TOKEN, ...): change it there and restart; "+
		"PUT /v1/email/settings sets a tenant's own provider (give Joist-Tenant)")
}

// PutSettings sets tenantID's own provider, validated whole first (bad
// input stores nothing), its secret sealed. Audited (hints only). The next
// send of the tenant, on any node, goes through it.
func (s *Service) PutSettings(ctx context.Context, a auth.Actor, tenantID string, in ProviderSettings) (SettingsInfo, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermKeysManage); err != nil {
		return SettingsInfo{}, err
	}
	if tenantID == store.InstanceTenantID {
		return SettingsInfo{}, errInstanceSettings()
	}
	st, secret, err := s.checkSettings(in)
	if err != nil {
		return SettingsInfo{}, err
	}
	if secret != "" {
		if s.opts.Box == nil {
			return SettingsInfo{}, errors.New("email: no secret box to seal provider secrets with")
		}
		st.Secret = s.opts.Box.Seal([]byte(secret))
	}
	now := s.now()
	st.TenantID, st.Version, st.CreatedAt, st.UpdatedAt = tenantID, store.NewID("eps_"), now, now
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		prev, err := settingsGet(ctx, tx, tenantID)
		detail := map[string]any{"after": st.auditView()}
		switch {
		case err == nil:
			detail["before"] = prev.auditView()
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if err := settingsPut(ctx, tx, st); err != nil {
			return err
		}
		return s.core.Audit(ctx, tx, a, tenantID, "email_settings.put", "email_settings", tenantID, detail)
	})
	if err != nil {
		return SettingsInfo{}, err
	}
	return st.info(), nil
}

// DeleteSettings removes tenantID's own provider: it sends through the
// instance's again. 404 when it has none. Audited.
func (s *Service) DeleteSettings(ctx context.Context, a auth.Actor, tenantID string) error {
	if err := s.core.TenantAccess(a, tenantID, auth.PermKeysManage); err != nil {
		return err
	}
	if tenantID == store.InstanceTenantID {
		return errInstanceSettings()
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		prev, err := settingsGet(ctx, tx, tenantID)
		if errors.Is(err, store.ErrNotFound) {
			return core.NotFound("this tenant has no email provider settings of its own: it sends through the instance's")
		}
		if err != nil {
			return err
		}
		if err := settingsDelete(ctx, tx, tenantID); err != nil {
			return err
		}
		return s.core.Audit(ctx, tx, a, tenantID, "email_settings.delete", "email_settings", tenantID,
			map[string]any{"before": prev.auditView()})
	})
}

func (st Settings) auditView() map[string]any {
	return map[string]any{"provider": st.Provider, "base": st.Base, "secret_hint": st.SecretHint, "rate": st.Rate}
}

// checkSettings validates in whole and returns the row to store (without
// its sealed secret) and the secret.
func (s *Service) checkSettings(in ProviderSettings) (Settings, string, error) {
	fields := []struct{ name, val, provider string }{
		{"provider", in.Provider, ""},
		{"smtp_url", in.SMTPURL, ProviderSMTP},
		{"resend_api_key", in.ResendAPIKey, ProviderResend},
		{"resend_api_base", in.ResendAPIBase, ProviderResend},
		{"postmark_server_token", in.PostmarkServerToken, ProviderPostmark},
		{"postmark_api_base", in.PostmarkAPIBase, ProviderPostmark},
	}
	for _, f := range fields {
		if !store.ValidText(f.val) {
			return Settings{}, "", core.InvalidText(f.name)
		}
		if len(f.val) > maxSettingLen {
			return Settings{}, "", invalidf(f.name, "too_long", "%d bytes; at most %d", len(f.val), maxSettingLen)
		}
	}
	switch in.Provider {
	case ProviderOutbox, ProviderSMTP, ProviderResend, ProviderPostmark:
	case "":
		return Settings{}, "", invalidf("provider", "invalid_provider", "required: outbox, smtp, resend or postmark")
	default:
		return Settings{}, "", invalidf("provider", "invalid_provider", "%q must be outbox, smtp, resend or postmark", in.Provider)
	}
	for _, f := range fields[1:] {
		if f.val != "" && f.provider != in.Provider {
			return Settings{}, "", invalidf(f.name, "field_not_for_provider", "is for the %s provider, and these settings are for %s", f.provider, in.Provider)
		}
	}
	switch {
	case in.Rate < 0 || in.Rate > 1000:
		return Settings{}, "", invalidf("rate", "invalid_rate", "%d must be 0 (the provider's default) to 1000 requests a second", in.Rate)
	case in.Rate != 0 && in.Provider == ProviderOutbox:
		return Settings{}, "", invalidf("rate", "field_not_for_provider", "the outbox sends nothing, so it has no rate")
	}
	st := Settings{Provider: in.Provider, Rate: in.Rate}
	var secret string
	switch in.Provider {
	case ProviderSMTP:
		if in.SMTPURL == "" {
			return Settings{}, "", invalidf("smtp_url", "required", "the smtp provider needs smtp://user:password@host:587 or smtps://user:password@host:465")
		}
		if _, err := ParseSMTPURL(in.SMTPURL, nil, nil); err != nil {
			return Settings{}, "", invalidf("smtp_url", "invalid_smtp_url", "%s", strings.ReplaceAll(err.Error(), "JOIST_SMTP_URL", "smtp_url"))
		}
		var err error
		if st.Base, secret, err = splitSMTPURL(in.SMTPURL); err != nil {
			return Settings{}, "", invalidf("smtp_url", "invalid_smtp_url", "%v", err)
		}
		if err := s.checkDestination("smtp_url", st.Base); err != nil {
			return Settings{}, "", err
		}
	case ProviderResend:
		if in.ResendAPIKey == "" {
			return Settings{}, "", invalidf("resend_api_key", "missing_secret", "the resend provider needs the tenant's Resend API key")
		}
		secret, st.Base = in.ResendAPIKey, in.ResendAPIBase
		if err := s.checkBase("resend_api_base", st.Base); err != nil {
			return Settings{}, "", err
		}
	case ProviderPostmark:
		if in.PostmarkServerToken == "" {
			return Settings{}, "", invalidf("postmark_server_token", "missing_secret", "the postmark provider needs the tenant's Postmark server token")
		}
		secret, st.Base = in.PostmarkServerToken, in.PostmarkAPIBase
		if err := s.checkBase("postmark_api_base", st.Base); err != nil {
			return Settings{}, "", err
		}
	}
	if strings.ContainsAny(secret, "\r\n") {
		return Settings{}, "", invalidf(secretField(in.Provider), "invalid_secret", "holds a line break")
	}
	st.SecretHint = secretHint(secret)
	return st, secret, nil
}

// secretField names a provider's secret in the settings.
func secretField(provider string) string {
	switch provider {
	case ProviderSMTP:
		return "smtp_url"
	case ProviderResend:
		return "resend_api_key"
	}
	return "postmark_server_token"
}

// checkBase checks an API base URL a tenant gives: absolute http(s), no
// credentials, query or fragment, and a destination the guard allows a
// tenant (the Customer class: https, no private address unless named).
func (s *Service) checkBase(field, raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return invalidf(field, "invalid_url", "%q must be an absolute https:// URL without credentials, query or fragment", raw)
	}
	return s.checkDestination(field, raw)
}

// checkDestination refuses at once what the guard would refuse by name
// alone (every connection is checked again at dial time).
func (s *Service) checkDestination(field, raw string) error {
	if s.egress == nil {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return invalidf(field, "invalid_url", "%v", err)
	}
	if u.Scheme == "smtp" || u.Scheme == "smtps" {
		u = &url.URL{Scheme: "https", Host: u.Host} // the dialer checks addresses the same way for any scheme
	}
	if err := s.egress.CheckURL(egress.Customer, u.String()); err != nil {
		return invalidf(field, "destination_refused", "%v", err)
	}
	return nil
}

// splitSMTPURL takes the password out of an SMTP URL: the URL without it
// (stored in clear) and the password (sealed).
func splitSMTPURL(raw string) (base, password string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", err
	}
	if u.User != nil {
		password, _ = u.User.Password()
		if password != "" && u.User.Username() == "" {
			return "", "", errors.New("a password without a user name")
		}
		u.User = url.User(u.User.Username())
		if u.User.Username() == "" {
			u.User = nil
		}
	}
	return u.String(), password, nil
}

// joinSMTPURL puts the password back into an SMTP URL.
func joinSMTPURL(base, password string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	if password != "" && u.User != nil {
		u.User = url.UserPassword(u.User.Username(), password)
	}
	return u.String(), nil
}

// secretHint shows a few characters of a secret, never enough to use it:
// the first three and the last four of a long one ("re_…x9f2"), the last
// two of a shorter one, nothing of a short one.
func secretHint(s string) string {
	n := utf8.RuneCountInString(s)
	r := []rune(s)
	switch {
	case n == 0:
		return ""
	case n >= 16:
		return string(r[:3]) + "…" + string(r[n-4:])
	case n >= 8:
		return "…" + string(r[n-2:])
	}
	return "…"
}

// String is for logs: never the secret.
func (p ProviderSettings) String() string {
	return fmt.Sprintf("%s provider", p.Provider)
}
