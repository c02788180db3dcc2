package email

import (
	"net/http"

	"github.com/joist-dev/joist/internal/httpapi"
	"github.com/joist-dev/joist/wire"
)

// settingsRoutes are the provider settings' routes: a tenant's own (PUT,
// DELETE), and which provider it sends through (GET). The root key without
// Joist-Tenant reads the instance's, from the configuration (read-only).
func (a *api) settingsRoutes() []httpapi.Route {
	return []httpapi.Route{
		{Method: "GET", Pattern: "/v1/email/settings", Tenant: "header", Instance: true, Handler: a.settingsGet},
		{Method: "PUT", Pattern: "/v1/email/settings", Tenant: "header", Instance: true, Handler: a.settingsPut},
		{Method: "DELETE", Pattern: "/v1/email/settings", Tenant: "header", Instance: true, Handler: a.settingsDelete},
	}
}

// SettingsView is the provider settings as the API shows them: hints, never secrets.
func SettingsView(in SettingsInfo) wire.EmailSettings {
	v := wire.EmailSettings{Source: in.Source, Provider: in.Provider, Rate: in.Rate, ReadOnly: in.ReadOnly, UpdatedAt: in.UpdatedAt}
	switch in.Provider {
	case ProviderSMTP:
		v.SMTPURL, v.SMTPPasswordHint = in.Base, in.SecretHint
	case ProviderResend:
		v.ResendAPIBase, v.ResendAPIKeyHint = in.Base, in.SecretHint
	case ProviderPostmark:
		v.PostmarkAPIBase, v.PostmarkServerTokenHint = in.Base, in.SecretHint
	}
	return v
}

func (a *api) settingsGet(w http.ResponseWriter, r *httpapi.Request) error {
	in, err := a.svc.GetSettings(r.Context(), r.Actor, r.Tenant.ID)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, SettingsView(in))
}

func (a *api) settingsPut(w http.ResponseWriter, r *httpapi.Request) error {
	var in wire.EmailSettingsPut
	if err := httpapi.Decode(r.Request, &in); err != nil {
		return err
	}
	out, err := a.svc.PutSettings(r.Context(), r.Actor, r.Tenant.ID, ProviderSettings{Provider: in.Provider, SMTPURL: in.SMTPURL,
		ResendAPIKey: in.ResendAPIKey, ResendAPIBase: in.ResendAPIBase, PostmarkServerToken: in.PostmarkServerToken,
		PostmarkAPIBase: in.PostmarkAPIBase, Rate: in.Rate})
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, SettingsView(out))
}

func (a *api) settingsDelete(w http.ResponseWriter, r *httpapi.Request) error {
	if err := a.svc.DeleteSettings(r.Context(), r.Actor, r.Tenant.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
