package client

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/joist-dev/joist/wire"
)

// Tenant is an isolated data boundary.
type Tenant = wire.Tenant

// TenantCreate creates a tenant.
type TenantCreate = wire.TenantCreate

// Key is an API key. Key (the secret) is set only in CreateKey's answer.
type Key = wire.Key

// Contact is a person known to a tenant.
type Contact = wire.Contact

// ContactUpsert creates or updates a contact: nil fields keep their value.
type ContactUpsert = wire.ContactUpsert

// TimelineEntry is one thing that happened to a contact.
type TimelineEntry = wire.TimelineEntry

// AuditEntry is one audit log record.
type AuditEntry = wire.AuditEntry

// CreateTenant creates a tenant (root key only).
func (c *Client) CreateTenant(ctx context.Context, in TenantCreate, opts ...Option) (*Tenant, error) {
	var t Tenant
	_, err := c.do(ctx, http.MethodPost, "/v1/tenants", nil, in, &t, opts)
	return ret(&t, err)
}

// ListTenants lists the tenants the key reaches.
func (c *Client) ListTenants(ctx context.Context, lo ListOptions, opts ...Option) (*List[Tenant], error) {
	var l List[Tenant]
	_, err := c.do(ctx, http.MethodGet, "/v1/tenants", lo.values(), nil, &l, opts)
	return ret(&l, err)
}

// GetTenant finds a tenant by slug or id.
func (c *Client) GetTenant(ctx context.Context, ref string, opts ...Option) (*Tenant, error) {
	var t Tenant
	_, err := c.do(ctx, http.MethodGet, "/v1/tenants/"+esc(ref), nil, nil, &t, opts)
	return ret(&t, err)
}

// CreateKey creates an API key for a tenant; the answer holds the key once.
func (c *Client) CreateKey(ctx context.Context, tenant, name string, opts ...Option) (*Key, error) {
	var k Key
	_, err := c.do(ctx, http.MethodPost, "/v1/tenants/"+esc(tenant)+"/keys", nil, map[string]string{"name": name}, &k, opts)
	return ret(&k, err)
}

// ListKeys lists a tenant's keys.
func (c *Client) ListKeys(ctx context.Context, tenant string, lo ListOptions, opts ...Option) (*List[Key], error) {
	var l List[Key]
	_, err := c.do(ctx, http.MethodGet, "/v1/tenants/"+esc(tenant)+"/keys", lo.values(), nil, &l, opts)
	return ret(&l, err)
}

// RevokeKey revokes a tenant's key.
func (c *Client) RevokeKey(ctx context.Context, tenant, id string, opts ...Option) (*Key, error) {
	var k Key
	_, err := c.do(ctx, http.MethodDelete, "/v1/tenants/"+esc(tenant)+"/keys/"+esc(id), nil, nil, &k, opts)
	return ret(&k, err)
}

// UpsertContact creates or updates the contact with the app's id; created
// reports which.
func (c *Client) UpsertContact(ctx context.Context, externalID string, in ContactUpsert, opts ...Option) (*Contact, bool, error) {
	var ct Contact
	status, err := c.do(ctx, http.MethodPut, "/v1/contacts/"+esc(externalID), nil, in, &ct, opts)
	if err != nil {
		return nil, false, err
	}
	return &ct, status == http.StatusCreated, nil
}

// GetContact finds a contact by the app's id.
func (c *Client) GetContact(ctx context.Context, externalID string, opts ...Option) (*Contact, error) {
	var ct Contact
	_, err := c.do(ctx, http.MethodGet, "/v1/contacts/"+esc(externalID), nil, nil, &ct, opts)
	return ret(&ct, err)
}

// ContactListOptions searches contacts (Q matches email, name or external id).
type ContactListOptions struct {
	ListOptions
	Q string
}

// ListContacts lists or searches contacts.
func (c *Client) ListContacts(ctx context.Context, lo ContactListOptions, opts ...Option) (*List[Contact], error) {
	v := lo.values()
	if lo.Q != "" {
		v.Set("q", lo.Q)
	}
	var l List[Contact]
	_, err := c.do(ctx, http.MethodGet, "/v1/contacts", v, nil, &l, opts)
	return ret(&l, err)
}

// ListTimeline lists a contact's timeline, newest first.
func (c *Client) ListTimeline(ctx context.Context, externalID string, lo ListOptions, opts ...Option) (*List[TimelineEntry], error) {
	var l List[TimelineEntry]
	_, err := c.do(ctx, http.MethodGet, "/v1/contacts/"+esc(externalID)+"/timeline", lo.values(), nil, &l, opts)
	return ret(&l, err)
}

// AuditListOptions filters the audit log.
type AuditListOptions struct {
	ListOptions
	Action   string
	ActorID  string
	TargetID string
	Since    time.Time
	Until    time.Time
}

// ListAudit lists audit entries newest first (a tenant key sees its tenant's;
// the root key all, or one tenant's with Tenant).
func (c *Client) ListAudit(ctx context.Context, lo AuditListOptions, opts ...Option) (*List[AuditEntry], error) {
	v := lo.values()
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("action", lo.Action)
	set("actor_id", lo.ActorID)
	set("target_id", lo.TargetID)
	if !lo.Since.IsZero() {
		v.Set("since", lo.Since.Format(time.RFC3339))
	}
	if !lo.Until.IsZero() {
		v.Set("until", lo.Until.Format(time.RFC3339))
	}
	var l List[AuditEntry]
	_, err := c.do(ctx, http.MethodGet, "/v1/audit", v, nil, &l, opts)
	return ret(&l, err)
}

// Health reports whether joist answers /healthz.
func (c *Client) Health(ctx context.Context) error {
	_, err := c.do(ctx, http.MethodGet, "/healthz", url.Values{}, nil, nil, nil)
	return err
}

func ret[T any](v *T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}
