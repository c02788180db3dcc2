// Package contacts is the foundation's contacts: creating and updating the
// people a tenant's app knows (PUT /v1/contacts/{contact}), listing and
// searching them, their timeline, and their dashboard pages (the search and
// the contact page, which hosts every section's contact panels).
//
// The contacts and timeline tables are the kit's: every system links its
// records to a contact and writes timeline entries (store.Scope.TimelineAdd),
// and finding one contact (core.Service.ContactGet) is the kit's too.
package contacts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/language"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
)

// Service writes, lists and searches contacts and reads their timelines.
type Service struct {
	db   *store.DB
	core *core.Service
	log  *slog.Logger
	now  func() time.Time
}

// New returns the contacts service.
func New(d core.Deps, c *core.Service) *Service {
	d = d.For("contacts")
	return &Service{db: d.DB, core: c, log: d.Log, now: d.Now}
}

// Input is an upsert. A nil field keeps the stored value (or is empty
// on create); a present field replaces it. Metadata is replaced whole.
type Input struct {
	Email    *string
	Name     *string
	Locale   *string
	Timezone *string
	Metadata json.RawMessage
}

// MaxMetadataBytes bounds a contact's metadata JSON.
const MaxMetadataBytes = 16 << 10

func (in *Input) validate() error {
	if in.Email != nil && *in.Email != "" {
		addr, err := mail.ParseAddress(*in.Email)
		if err != nil || addr.Address != *in.Email {
			return core.Invalid("invalid_email", "email %q is not a plain address such as ann@example.com", *in.Email)
		}
	}
	if in.Name != nil && utf8.RuneCountInString(*in.Name) > 200 {
		return core.Invalid("invalid_name", "name is %d characters long; the limit is 200", utf8.RuneCountInString(*in.Name))
	}
	if in.Locale != nil && *in.Locale != "" {
		if _, err := language.Parse(*in.Locale); err != nil {
			return core.Invalid("invalid_locale", "locale %q is not a BCP 47 tag such as en, fr-CA or pt-BR", *in.Locale)
		}
	}
	if in.Timezone != nil && *in.Timezone != "" {
		if _, err := time.LoadLocation(*in.Timezone); err != nil || *in.Timezone == "Local" {
			return core.Invalid("invalid_timezone", "timezone %q is not an IANA zone such as Europe/Paris or America/New_York", *in.Timezone)
		}
	}
	if in.Metadata != nil {
		if len(in.Metadata) > MaxMetadataBytes {
			return core.Invalid("invalid_metadata", "metadata is %d bytes; the limit is %d", len(in.Metadata), MaxMetadataBytes)
		}
		t := bytes.TrimSpace(in.Metadata)
		if bytes.Equal(t, []byte("null")) {
			in.Metadata = json.RawMessage("{}")
		} else if len(t) == 0 || t[0] != '{' || !json.Valid(t) {
			return core.Invalid("invalid_metadata", "metadata must be a JSON object, such as {\"plan\": \"pro\"}")
		}
	}
	return nil
}

// Upsert creates or updates the contact with the app's externalID and
// writes a contact.created or contact.updated timeline entry.
func (s *Service) Upsert(ctx context.Context, a auth.Actor, tenantID, externalID string, in Input) (store.Contact, bool, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermContactsWrite); err != nil {
		return store.Contact{}, false, err
	}
	if err := core.ValidateExternalID(externalID); err != nil {
		return store.Contact{}, false, err
	}
	if err := in.validate(); err != nil {
		return store.Contact{}, false, err
	}
	c, created, err := s.upsert(ctx, a, tenantID, externalID, in)
	if errors.Is(err, store.ErrConflict) {
		// Two first writes of one contact raced (PostgreSQL): the other
		// committed the insert, so this one is now an update.
		c, created, err = s.upsert(ctx, a, tenantID, externalID, in)
	}
	return c, created, err
}

func (s *Service) upsert(ctx context.Context, a auth.Actor, tenantID, externalID string, in Input) (store.Contact, bool, error) {
	var c store.Contact
	created := false
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		sc := tx.Tenant(tenantID)
		now := s.now()
		before, err := sc.ContactGet(ctx, externalID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			created = true
			c = store.Contact{ID: store.NewID(store.PrefixContact), TenantID: tenantID, ExternalID: externalID,
				Metadata: json.RawMessage("{}"), CreatedAt: now, UpdatedAt: now}
			apply(&c, in)
			if err := sc.ContactInsert(ctx, c); err != nil {
				return err
			}
			if err := sc.TimelineAdd(ctx, store.TimelineEntry{ContactID: c.ID, Kind: "contact.created", Summary: "Contact created",
				RefType: "contact", RefID: c.ID, CorrelationID: a.CorrelationID, CreatedAt: now}); err != nil {
				return err
			}
			return s.auditContact(ctx, tx, a, tenantID, "contact.create", c.ID, nil)
		case err != nil:
			return err
		}
		c = before
		apply(&c, in)
		changed := changedFields(before, c)
		if len(changed) == 0 {
			return nil
		}
		c.UpdatedAt = now
		if err := contactUpdate(ctx, sc, c); err != nil {
			return err
		}
		if err := sc.TimelineAdd(ctx, store.TimelineEntry{ContactID: c.ID, Kind: "contact.updated",
			Summary: "Contact updated: " + strings.Join(changed, ", "),
			RefType: "contact", RefID: c.ID, CorrelationID: a.CorrelationID, CreatedAt: now}); err != nil {
			return err
		}
		return s.auditContact(ctx, tx, a, tenantID, "contact.update", c.ID, changed)
	})
	return c, created, err
}

// auditContact audits contact changes made by operators (API writes of
// contacts are the app's own data flow and go to the timeline only).
func (s *Service) auditContact(ctx context.Context, tx *store.Tx, a auth.Actor, tenantID, action, id string, changed []string) error {
	if a.Type != auth.ActorOperator {
		return nil
	}
	return s.core.Audit(ctx, tx, a, tenantID, action, "contact", id, map[string]any{"changed": changed})
}

func apply(c *store.Contact, in Input) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&c.Email, in.Email)
	set(&c.Name, in.Name)
	set(&c.Locale, in.Locale)
	set(&c.Timezone, in.Timezone)
	if in.Metadata != nil {
		c.Metadata = in.Metadata
	}
}

func changedFields(a, b store.Contact) []string {
	var out []string
	if a.Email != b.Email {
		out = append(out, "email")
	}
	if a.Name != b.Name {
		out = append(out, "name")
	}
	if a.Locale != b.Locale {
		out = append(out, "locale")
	}
	if a.Timezone != b.Timezone {
		out = append(out, "timezone")
	}
	if !jsonEqual(a.Metadata, b.Metadata) {
		out = append(out, "metadata")
	}
	return out
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// List lists or searches a tenant's contacts.
func (s *Service) List(ctx context.Context, a auth.Actor, tenantID string, p store.Page, q string) ([]store.Contact, string, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return nil, "", err
	}
	if utf8.RuneCountInString(q) > 200 {
		return nil, "", core.Invalid("invalid_query", "search text is %d characters; the limit is 200", utf8.RuneCountInString(q))
	}
	var out []store.Contact
	var next string
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, next, err = contactList(ctx, tx.Tenant(tenantID), p, q)
		return err
	})
	return out, next, err
}

// Timeline lists a contact's timeline, newest first.
func (s *Service) Timeline(ctx context.Context, a auth.Actor, tenantID, externalID string, p store.Page) ([]store.TimelineEntry, string, error) {
	c, err := s.core.ContactGet(ctx, a, tenantID, externalID)
	if err != nil {
		return nil, "", err
	}
	var out []store.TimelineEntry
	var next string
	err = s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, next, err = timelineList(ctx, tx.Tenant(tenantID), c.ID, p)
		return err
	})
	return out, next, err
}
