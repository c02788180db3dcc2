package wire

import "time"

// DomainCreate adds a sending domain (POST /v1/domains).
type DomainCreate struct {
	// Name is the domain of the From addresses, like mail.example.com.
	Name string `json:"name"`
	// Provider sends the domain's mail: smtp (the default: joist signs
	// with its own DKIM key), resend or postmark (the provider signs).
	Provider string `json:"provider,omitempty"`
	// Ed25519 adds an Ed25519 DKIM key beside the RSA-2048 one (smtp only):
	// messages then carry both signatures.
	Ed25519 bool `json:"ed25519,omitempty"`
	// SPFInclude is the SMTP relay's SPF host (as in include:HOST), used in
	// the suggested SPF record and checked by the domain check.
	SPFInclude string `json:"spf_include,omitempty"`
}

// Domain is a sending domain with the DNS records to publish for it.
type Domain struct {
	Name       string `json:"name"`
	Provider   string `json:"provider"`
	SPFInclude string `json:"spf_include"`
	// Instance says the domain belongs to the instance (every tenant may
	// send from it) rather than to one tenant.
	Instance bool `json:"instance"`
	// DKIM are joist's keys for the domain (smtp only), newest first.
	DKIM []DomainKey `json:"dkim"`
	// Records are the DNS records to publish.
	Records   []DomainRecord `json:"records"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// DomainKey is one of joist's DKIM keys for a domain.
type DomainKey struct {
	Selector string `json:"selector"`
	// Algorithm is rsa (2048 bits) or ed25519.
	Algorithm string `json:"algorithm"`
	// Status is pending (published beside the active key; signs once the
	// domain check sees its record), active (signs) or retired.
	Status      string     `json:"status"`
	CreatedAt   time.Time  `json:"created_at"`
	ActivatedAt *time.Time `json:"activated_at,omitempty"`
	RetiredAt   *time.Time `json:"retired_at,omitempty"`
}

// DomainRecord is one DNS record to publish.
type DomainRecord struct {
	// Type is TXT, MX or CNAME.
	Type string `json:"type"`
	// Name is the record's full name (selector._domainkey.example.com).
	Name string `json:"name"`
	// Value is the record's whole value, unquoted. Empty when the value
	// comes from the provider (its dashboard or API); Purpose says so.
	Value string `json:"value"`
	// Strings is Value split into strings of at most 255 characters, as a
	// TXT record longer than that must be published (most DNS hosts split
	// it themselves); absent when Value fits in one string.
	Strings []string `json:"strings,omitempty"`
	// Purpose says what the record is for.
	Purpose string `json:"purpose"`
}
