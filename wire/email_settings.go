package wire

import "time"

// EmailSettingsPut sets a tenant's own email provider
// (PUT /v1/email/settings). Only the fields of the chosen provider may be
// given; the secret of each provider (the SMTP URL's password, the Resend
// API key, the Postmark server token) is sealed at rest and never shown again.
type EmailSettingsPut struct {
	// Provider is outbox, smtp, resend or postmark.
	Provider string `json:"provider"`
	// SMTPURL is smtp://user:password@host:587 (STARTTLS) or
	// smtps://user:password@host:465 (smtp only).
	SMTPURL string `json:"smtp_url,omitempty"`
	// ResendAPIKey is the tenant's Resend API key (resend only).
	ResendAPIKey string `json:"resend_api_key,omitempty"`
	// ResendAPIBase replaces https://api.resend.com (resend only).
	ResendAPIBase string `json:"resend_api_base,omitempty"`
	// PostmarkServerToken is the tenant's Postmark server token (postmark only).
	PostmarkServerToken string `json:"postmark_server_token,omitempty"`
	// PostmarkAPIBase replaces https://api.postmarkapp.com (postmark only).
	PostmarkAPIBase string `json:"postmark_api_base,omitempty"`
	// Rate is the most requests a second to the tenant's provider account
	// (0: the provider's default; SMTP unlimited).
	Rate int `json:"rate,omitempty"`
}

// EmailSettings is the provider a tenant sends through, secrets shown as hints only.
type EmailSettings struct {
	// Source is "tenant" (the tenant's own settings) or "instance" (the
	// instance's, from the configuration).
	Source string `json:"source"`
	// Provider is the provider in effect: outbox, smtp, resend or postmark.
	Provider string `json:"provider"`
	// SMTPURL is the SMTP URL without its password.
	SMTPURL string `json:"smtp_url,omitempty"`
	// SMTPPasswordHint, ResendAPIKeyHint and PostmarkServerTokenHint show
	// a few characters of the secret ("re_…x9f2"), never the secret.
	SMTPPasswordHint        string `json:"smtp_password_hint,omitempty"`
	ResendAPIKeyHint        string `json:"resend_api_key_hint,omitempty"`
	ResendAPIBase           string `json:"resend_api_base,omitempty"`
	PostmarkServerTokenHint string `json:"postmark_server_token_hint,omitempty"`
	PostmarkAPIBase         string `json:"postmark_api_base,omitempty"`
	// Rate is the requests a second joist sends the account (0: unlimited).
	Rate int `json:"rate"`
	// ReadOnly is true for the instance's own settings (the root key
	// without Joist-Tenant): they come from the configuration.
	ReadOnly bool `json:"read_only"`
	// UpdatedAt is when the tenant's own settings were last set.
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
}
