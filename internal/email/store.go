package email

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/joist-dev/joist/internal/store"
)

// The email system's SQL. Tenant-scoped queries are methods of scope, which
// only a *store.Scope makes, and constrain on its tenant.

// Attachment is a file of an email, as stored (Content is base64 in JSON).
type Attachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	ContentID   string `json:"content_id,omitempty"`
	Content     []byte `json:"content"`
}

// Email is an accepted email as stored: the message as given, its status
// and what the provider answered.
type Email struct {
	ID        string
	TenantID  string
	ContactID string // joist's ct_ id, or ""
	From      string
	To        []string
	Cc        []string
	Bcc       []string
	ReplyTo   []string
	Subject   string
	// Template and Locale are a template send's template name and the
	// variant rendered (before rendering: the locale asked for).
	Template    string
	Locale      string
	HTML        string
	Text        string
	Headers     map[string]string
	Attachments []Attachment
	Tags        []string
	Metadata    json.RawMessage
	Category    string
	// Status is queued, sent, captured or failed.
	Status    string
	MessageID string // without angle brackets
	Provider  string
	// ProviderID is the provider's id of the message (SMTP: the queue id
	// of the relay's reply, when it gives one).
	ProviderID     string
	Error          string
	IdempotencyKey string
	JobID          string
	CorrelationID  string
	SendAt         *time.Time
	SentAt         *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Event is one thing that happened to an email.
type Event struct {
	ID        string
	EmailID   string
	Type      string
	Detail    string
	CreatedAt time.Time
}

const emailCols = `id, tenant_id, contact_id, from_addr, to_addrs, cc_addrs, bcc_addrs, reply_to, subject, html, text_body, headers,
	attachments, tags, metadata, category, status, message_id, provider, provider_id, error, idempotency_key, job_id, correlation_id,
	send_at, sent_at, created_at, updated_at, template, locale`

func scanEmail(r store.Row) (Email, error) {
	var e Email
	var to, cc, bcc, replyTo, headers, atts, tags, meta []byte
	err := r.Scan(&e.ID, &e.TenantID, &e.ContactID, &e.From, &to, &cc, &bcc, &replyTo, &e.Subject, &e.HTML, &e.Text, &headers,
		&atts, &tags, &meta, &e.Category, &e.Status, &e.MessageID, &e.Provider, &e.ProviderID, &e.Error, &e.IdempotencyKey, &e.JobID,
		&e.CorrelationID, &e.SendAt, &e.SentAt, &e.CreatedAt, &e.UpdatedAt, &e.Template, &e.Locale)
	if err != nil {
		return e, err
	}
	for _, f := range []struct {
		b   []byte
		dst any
	}{{to, &e.To}, {cc, &e.Cc}, {bcc, &e.Bcc}, {replyTo, &e.ReplyTo}, {headers, &e.Headers}, {atts, &e.Attachments}, {tags, &e.Tags}} {
		if err := json.Unmarshal(f.b, f.dst); err != nil {
			return e, err
		}
	}
	e.Metadata = json.RawMessage(meta)
	return e, nil
}

func jsonOf(v any) json.RawMessage {
	b, _ := json.Marshal(v) // slices and maps of strings: cannot fail
	return b
}

// scope is the email tables confined to one tenant.
type scope struct{ s *store.Scope }

// emailInsert stores a new email with its recipients and tags.
func (q scope) emailInsert(ctx context.Context, e Email) error {
	tx, tid := q.s.Tx(), q.s.TenantID()
	_, err := tx.Exec(ctx, "INSERT INTO emails ("+emailCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		e.ID, tid, e.ContactID, e.From, jsonOf(e.To), jsonOf(e.Cc), jsonOf(e.Bcc), jsonOf(e.ReplyTo), e.Subject, e.HTML, e.Text,
		jsonOf(e.Headers), jsonOf(e.Attachments), jsonOf(e.Tags), e.Metadata, e.Category, e.Status, e.MessageID, e.Provider, e.ProviderID,
		e.Error, e.IdempotencyKey, e.JobID, e.CorrelationID, e.SendAt, e.SentAt, e.CreatedAt, e.UpdatedAt, e.Template, e.Locale)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for kind, list := range map[string][]string{"to": e.To, "cc": e.Cc, "bcc": e.Bcc} {
		for _, a := range list {
			addr := strings.ToLower(bareAddress(a))
			if seen[kind+" "+addr] {
				continue
			}
			seen[kind+" "+addr] = true
			if _, err := tx.Exec(ctx, "INSERT INTO email_recipients (email_id, tenant_id, kind, address) VALUES (?, ?, ?, ?)",
				e.ID, tid, kind, addr); err != nil {
				return err
			}
		}
	}
	for _, t := range e.Tags {
		if _, err := tx.Exec(ctx, "INSERT INTO email_tags (email_id, tenant_id, tag) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
			e.ID, tid, t); err != nil {
			return err
		}
	}
	return nil
}

// emailGet finds an email of the tenant by id.
func (q scope) emailGet(ctx context.Context, id string) (Email, error) {
	return scanEmail(q.s.Tx().QueryRow(ctx, "SELECT "+emailCols+" FROM emails WHERE tenant_id = ? AND id = ?", q.s.TenantID(), id))
}

// emailGetByKey finds the email an Idempotency-Key created. The query
// repeats the partial index's condition (a key that is not empty): neither
// SQLite nor a generic PostgreSQL plan can prove it from a parameter, and
// without it the lookup scanned every email of the tenant.
func (q scope) emailGetByKey(ctx context.Context, key string) (Email, error) {
	return scanEmail(q.s.Tx().QueryRow(ctx, "SELECT "+emailCols+" FROM emails WHERE tenant_id = ? AND idempotency_key = ? AND idempotency_key <> ''",
		q.s.TenantID(), key))
}

// emailFinish records the outcome of a send: status, provider, its id,
// the error (safe text) and when it was sent.
func (q scope) emailFinish(ctx context.Context, e Email) error {
	n, err := q.s.Tx().Exec(ctx, `UPDATE emails SET status = ?, provider = ?, provider_id = ?, error = ?, sent_at = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ?`, e.Status, e.Provider, e.ProviderID, e.Error, e.SentAt, e.UpdatedAt, q.s.TenantID(), e.ID)
	if err == nil && n == 0 {
		return store.ErrNotFound
	}
	return err
}

// Filter narrows the email log.
type Filter struct {
	To        string // an address (to, cc or bcc), any case
	ContactID string
	Statuses  []string // any of
	Tag       string
	Template  string
	Since     time.Time
	Until     time.Time
	// Query matches the subject, the sender or a recipient (the admin's search).
	Query string
}

// emailList lists the tenant's emails, newest first.
func (q scope) emailList(ctx context.Context, p store.Page, f Filter) ([]Email, string, error) {
	after, err := p.After()
	if err != nil {
		return nil, "", err
	}
	sql := "SELECT " + emailCols + " FROM emails e WHERE tenant_id = ?"
	args := []any{q.s.TenantID()}
	if after != "" {
		sql += " AND id < ?"
		args = append(args, after)
	}
	if f.To != "" {
		sql += " AND EXISTS (SELECT 1 FROM email_recipients r WHERE r.tenant_id = e.tenant_id AND r.email_id = e.id AND r.address = ?)"
		args = append(args, strings.ToLower(f.To))
	}
	if f.ContactID != "" {
		sql += " AND contact_id = ?"
		args = append(args, f.ContactID)
	}
	if len(f.Statuses) > 0 {
		sql += " AND status IN (?" + strings.Repeat(", ?", len(f.Statuses)-1) + ")"
		for _, st := range f.Statuses {
			args = append(args, st)
		}
	}
	if f.Tag != "" {
		sql += " AND EXISTS (SELECT 1 FROM email_tags t WHERE t.tenant_id = e.tenant_id AND t.email_id = e.id AND t.tag = ?)"
		args = append(args, f.Tag)
	}
	if f.Template != "" {
		sql += " AND template = ?"
		args = append(args, f.Template)
	}
	if !f.Since.IsZero() {
		sql += " AND created_at >= ?"
		args = append(args, f.Since)
	}
	if !f.Until.IsZero() {
		sql += " AND created_at < ?"
		args = append(args, f.Until)
	}
	if f.Query != "" {
		like := "%" + strings.ToLower(likeEscape(f.Query)) + "%"
		sql += ` AND (lower(subject) LIKE ? ESCAPE '\' OR lower(from_addr) LIKE ? ESCAPE '\' OR EXISTS (SELECT 1 FROM email_recipients r
			WHERE r.tenant_id = e.tenant_id AND r.email_id = e.id AND r.address LIKE ? ESCAPE '\'))`
		args = append(args, like, like, like)
	}
	sql += " ORDER BY id DESC LIMIT ?"
	args = append(args, p.Size()+1)
	rows, err := q.s.Tx().Query(ctx, sql, args...)
	items, err := store.Collect(rows, err, func(r store.Rows) (Email, error) { return scanEmail(r) })
	if err != nil {
		return nil, "", err
	}
	items, next := store.PageOf(items, p, func(e Email) string { return e.ID })
	return items, next, nil
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
}

// eventInsert records an event of an email.
func (q scope) eventInsert(ctx context.Context, ev Event) error {
	if ev.ID == "" {
		ev.ID = store.NewID("eme_")
	}
	_, err := q.s.Tx().Exec(ctx, "INSERT INTO email_events (id, email_id, tenant_id, type, detail, created_at) VALUES (?, ?, ?, ?, ?, ?)",
		ev.ID, ev.EmailID, q.s.TenantID(), ev.Type, ev.Detail, ev.CreatedAt)
	return err
}

// eventList lists an email's events, oldest first.
func (q scope) eventList(ctx context.Context, emailID string) ([]Event, error) {
	rows, err := q.s.Tx().Query(ctx, `SELECT id, email_id, type, detail, created_at FROM email_events WHERE tenant_id = ? AND email_id = ?
		ORDER BY created_at, id`, q.s.TenantID(), emailID)
	return store.Collect(rows, err, func(r store.Rows) (Event, error) {
		var ev Event
		return ev, r.Scan(&ev.ID, &ev.EmailID, &ev.Type, &ev.Detail, &ev.CreatedAt)
	})
}
