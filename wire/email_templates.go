package wire

import (
	"encoding/json"
	"time"
)

// EmailTemplateVariant is one locale's version of a template. Subject,
// preheader and text are Go text/template source, html is html/template
// source; the context is {{.data}}, {{.contact}} and {{.tenant}}.
type EmailTemplateVariant struct {
	// Subject is required; after rendering it must hold no line break.
	Subject string `json:"subject"`
	// Preheader is the preview text inboxes show after the subject; it is
	// inserted hidden at the top of the HTML body.
	Preheader string `json:"preheader,omitempty"`
	// HTML is the body, wrapped in the template's layout when it has one.
	HTML string `json:"html,omitempty"`
	// Text is the plain-text part; when empty it is derived from the
	// rendered HTML.
	Text string `json:"text,omitempty"`
}

// EmailTemplatePut creates or replaces a template
// (PUT /v1/email/templates/{name}).
type EmailTemplatePut struct {
	// DefaultLocale is a BCP 47 tag with a variant: the last step of the
	// locale fallback chain.
	DefaultLocale string `json:"default_locale"`
	// Layout names the layout the HTML is wrapped in; empty for none.
	Layout string `json:"layout,omitempty"`
	// Variants maps a BCP 47 tag ("en", "de", "de-AT") to its variant.
	Variants map[string]EmailTemplateVariant `json:"variants"`
}

// EmailTemplate is a stored template in API responses.
type EmailTemplate struct {
	Name string `json:"name"`
	// Owner is "tenant" (the caller's tenant's own) or "instance" (the
	// instance's, which the tenant renders while it has none of the name).
	Owner         string                          `json:"owner"`
	DefaultLocale string                          `json:"default_locale"`
	Layout        string                          `json:"layout"`
	Variants      map[string]EmailTemplateVariant `json:"variants"`
	CreatedAt     time.Time                       `json:"created_at"`
	UpdatedAt     time.Time                       `json:"updated_at"`
}

// EmailLayoutPut creates or replaces a layout
// (PUT /v1/email/layouts/{name}).
type EmailLayoutPut struct {
	// HTML is html/template source that places the variant's HTML with
	// {{.content}}; it may also use {{.subject}}, {{.locale}}, {{.data}}, {{.contact}}
	// and {{.tenant}}.
	HTML string `json:"html"`
}

// EmailLayout is a stored layout in API responses.
type EmailLayout struct {
	Name string `json:"name"`
	// Owner is "tenant" or "instance", as for templates.
	Owner     string    `json:"owner"`
	HTML      string    `json:"html"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// EmailPreviewRequest renders a template without sending it
// (POST /v1/email/templates/{name}/preview).
type EmailPreviewRequest struct {
	// Locale is a BCP 47 tag; empty uses the contact's locale, else the
	// template's default.
	Locale string `json:"locale,omitempty"`
	// Data is the JSON object the template sees as {{.data}}.
	Data json.RawMessage `json:"data,omitempty"`
	// Contact is a contact's external id; the template sees it as
	// {{.contact}}.
	Contact string `json:"contact,omitempty"`
}

// EmailPreview is a rendered template: what a send with the same input
// would deliver.
type EmailPreview struct {
	// Locale is the variant that was rendered, after fallback.
	Locale    string `json:"locale"`
	Subject   string `json:"subject"`
	Preheader string `json:"preheader"`
	HTML      string `json:"html"`
	Text      string `json:"text"`
}
