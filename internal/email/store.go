package email

import (
	"context"
	"encoding/json"
	"fmt"
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
func (q scope) emailInsert(ctx context.Context, e Email) error { return q.emailInsertWith(ctx, e, nil) }

// stmt is one SQL statement and its arguments.
type stmt struct {
	sql  string
	args []any
}

// emailInsertWith stores a new email with its recipients, its tags and,
// when ev is not nil, its first event: one statement per table, which
// PostgreSQL runs as one (a WITH of inserts: one round trip).
func (q scope) emailInsertWith(ctx context.Context, e Email, ev *Event) error {
	tid := q.s.TenantID()
	stmts := []stmt{{"INSERT INTO emails (" + emailCols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		[]any{e.ID, tid, e.ContactID, e.From, jsonOf(e.To), jsonOf(e.Cc), jsonOf(e.Bcc), jsonOf(e.ReplyTo), e.Subject, e.HTML, e.Text,
			jsonOf(e.Headers), jsonOf(e.Attachments), jsonOf(e.Tags), e.Metadata, e.Category, e.Status, e.MessageID, e.Provider, e.ProviderID,
			e.Error, e.IdempotencyKey, e.JobID, e.CorrelationID, e.SendAt, e.SentAt, e.CreatedAt, e.UpdatedAt, e.Template, e.Locale}}}
	rcpts := stmt{sql: "INSERT INTO email_recipients (email_id, tenant_id, kind, address) VALUES "}
	seen := map[string]bool{}
	for _, l := range []struct {
		kind string
		list []string
	}{{"to", e.To}, {"cc", e.Cc}, {"bcc", e.Bcc}} {
		for _, a := range l.list {
			addr := strings.ToLower(bareAddress(a))
			if seen[l.kind+" "+addr] {
				continue
			}
			seen[l.kind+" "+addr] = true
			if len(rcpts.args) > 0 {
				rcpts.sql += ", "
			}
			rcpts.sql += "(?, ?, ?, ?)"
			rcpts.args = append(rcpts.args, e.ID, tid, l.kind, addr)
		}
	}
	if len(rcpts.args) > 0 {
		stmts = append(stmts, rcpts)
	}
	tags := stmt{sql: "INSERT INTO email_tags (email_id, tenant_id, tag) VALUES "}
	seenTag := map[string]bool{}
	for _, t := range e.Tags {
		if seenTag[t] {
			continue
		}
		seenTag[t] = true
		if len(tags.args) > 0 {
			tags.sql += ", "
		}
		tags.sql += "(?, ?, ?)"
		tags.args = append(tags.args, e.ID, tid, t)
	}
	if len(tags.args) > 0 {
		tags.sql += " ON CONFLICT DO NOTHING"
		stmts = append(stmts, tags)
	}
	if ev != nil {
		if ev.ID == "" {
			ev.ID = store.NewID("eme_")
		}
		stmts = append(stmts, stmt{"INSERT INTO email_events (id, email_id, tenant_id, type, detail, created_at) VALUES (?, ?, ?, ?, ?, ?)",
			[]any{ev.ID, ev.EmailID, tid, ev.Type, ev.Detail, ev.CreatedAt}})
	}
	return q.execAll(ctx, stmts)
}

// execAll runs stmts (inserts, the first of which the others need) in
// order: on PostgreSQL as one statement, a WITH of all but the last, on
// SQLite (no round trips to save) one by one.
func (q scope) execAll(ctx context.Context, stmts []stmt) error {
	tx := q.s.Tx()
	if tx.Dialect() == store.Postgres && len(stmts) > 1 {
		var sql strings.Builder
		var args []any
		for i, st := range stmts[:len(stmts)-1] {
			if i == 0 {
				sql.WriteString("WITH ")
			} else {
				sql.WriteString(", ")
			}
			fmt.Fprintf(&sql, "s%d AS (%s)", i, st.sql)
			args = append(args, st.args...)
		}
		last := stmts[len(stmts)-1]
		sql.WriteString(" " + last.sql)
		_, err := tx.Exec(ctx, sql.String(), append(args, last.args...)...)
		return err
	}
	for _, st := range stmts {
		if _, err := tx.Exec(ctx, st.sql, st.args...); err != nil {
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
	n, err := q.s.Tx().Exec(ctx, emailFinishSQL, e.Status, e.Provider, e.ProviderID, e.Error, e.SentAt, e.UpdatedAt, q.s.TenantID(), e.ID)
	if err == nil && n == 0 {
		return store.ErrNotFound
	}
	return err
}

const emailFinishSQL = `UPDATE emails SET status = ?, provider = ?, provider_id = ?, error = ?, sent_at = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ?`

// emailFinishWith is emailFinish and the event ev of the outcome: on
// PostgreSQL in one statement (the event inserted for the row updated).
func (q scope) emailFinishWith(ctx context.Context, e Email, ev Event) error {
	tx := q.s.Tx()
	if tx.Dialect() != store.Postgres {
		if err := q.emailFinish(ctx, e); err != nil {
			return err
		}
		return q.eventInsert(ctx, ev)
	}
	if ev.ID == "" {
		ev.ID = store.NewID("eme_")
	}
	n, err := tx.Exec(ctx, "WITH u AS ("+emailFinishSQL+` RETURNING id)
		INSERT INTO email_events (id, email_id, tenant_id, type, detail, created_at)
		SELECT CAST(? AS TEXT), u.id, CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TIMESTAMPTZ) FROM u`,
		e.Status, e.Provider, e.ProviderID, e.Error, e.SentAt, e.UpdatedAt, q.s.TenantID(), e.ID,
		ev.ID, q.s.TenantID(), ev.Type, ev.Detail, ev.CreatedAt)
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
