package email

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
)

// Categories lists the categories of an email; a suppression holds for
// one of them.
var Categories = []string{CategoryTransactional, CategoryMarketing}

// Sources of a suppression: what put the address there.
const (
	SuppressionBounce      = "bounce"      // a hard bounce: both categories
	SuppressionComplaint   = "complaint"   // a spam complaint: the email's category
	SuppressionAPI         = "api"         // PUT /v1/email/suppressions/{address}
	SuppressionUnsubscribe = "unsubscribe" // a one-click unsubscribe
)

// Suppression is an address the tenant does not send to, in one category.
type Suppression struct {
	Address   string // bare, lower-case
	Category  string
	Reason    string
	Source    string
	EmailID   string // the email whose bounce or complaint put it here, or ""
	ExpiresAt *time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Active reports whether the suppression holds at now.
func (s Suppression) Active(now time.Time) bool {
	return s.ExpiresAt == nil || now.Before(*s.ExpiresAt)
}

const suppressionCols = "address, category, reason, source, email_id, expires_at, created_at, updated_at"

func scanSuppression(r store.Row) (Suppression, error) {
	var s Suppression
	return s, r.Scan(&s.Address, &s.Category, &s.Reason, &s.Source, &s.EmailID, &s.ExpiresAt, &s.CreatedAt, &s.UpdatedAt)
}

// suppressionUpsert suppresses an address in a category (replacing what
// was there: a new bounce renews an expired suppression).
func (q scope) suppressionUpsert(ctx context.Context, s Suppression) error {
	_, err := q.s.Tx().Exec(ctx, `INSERT INTO email_suppressions (tenant_id, `+suppressionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, address, category) DO UPDATE SET reason = excluded.reason, source = excluded.source,
		email_id = excluded.email_id, expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
		q.s.TenantID(), s.Address, s.Category, s.Reason, s.Source, s.EmailID, s.ExpiresAt, s.CreatedAt, s.UpdatedAt)
	return err
}

// suppressionDelete releases an address (in one category, or all with "").
func (q scope) suppressionDelete(ctx context.Context, address, category string) (int64, error) {
	sql, args := "DELETE FROM email_suppressions WHERE tenant_id = ? AND address = ?", []any{q.s.TenantID(), address}
	if category != "" {
		sql += " AND category = ?"
		args = append(args, category)
	}
	return q.s.Tx().Exec(ctx, sql, args...)
}

// suppressionFind returns the first active suppression of one of addrs in
// category, if any.
func (q scope) suppressionFind(ctx context.Context, addrs []string, category string, now time.Time) (Suppression, bool, error) {
	if len(addrs) == 0 {
		return Suppression{}, false, nil
	}
	args := []any{q.s.TenantID(), category, now}
	for _, a := range addrs {
		args = append(args, a)
	}
	s, err := scanSuppression(q.s.Tx().QueryRow(ctx, "SELECT "+suppressionCols+` FROM email_suppressions
		WHERE tenant_id = ? AND category = ? AND (expires_at IS NULL OR expires_at > ?) AND address IN (?`+
		strings.Repeat(", ?", len(addrs)-1)+") ORDER BY address LIMIT 1", args...))
	if errors.Is(err, store.ErrNotFound) {
		return Suppression{}, false, nil
	}
	return s, err == nil, err
}

// suppressionList lists the active suppressions by address and category.
func (q scope) suppressionList(ctx context.Context, p store.Page, address, category string, now time.Time) ([]Suppression, string, error) {
	after, err := p.After()
	if err != nil {
		return nil, "", err
	}
	sql := "SELECT " + suppressionCols + " FROM email_suppressions WHERE tenant_id = ? AND (expires_at IS NULL OR expires_at > ?)"
	args := []any{q.s.TenantID(), now}
	if a, c, ok := strings.Cut(after, " "); ok {
		sql += " AND (address > ? OR (address = ? AND category > ?))"
		args = append(args, a, a, c)
	}
	if address != "" {
		sql += " AND address = ?"
		args = append(args, address)
	}
	if category != "" {
		sql += " AND category = ?"
		args = append(args, category)
	}
	sql += " ORDER BY address, category LIMIT ?"
	args = append(args, p.Size()+1)
	rows, err := q.s.Tx().Query(ctx, sql, args...)
	items, err := store.Collect(rows, err, func(r store.Rows) (Suppression, error) { return scanSuppression(r) })
	if err != nil {
		return nil, "", err
	}
	items, next := store.PageOf(items, p, func(s Suppression) string { return s.Address + " " + s.Category })
	return items, next, nil
}

// suppressionAddress checks an address given to the suppression routes
// and returns it bare and lower-case.
func suppressionAddress(s string) (string, error) {
	a, err := parseAddress("address", s)
	if err != nil {
		return "", err
	}
	return strings.ToLower(a.Address), nil
}

func checkCategory(c string) ([]string, error) {
	switch c {
	case "", "all":
		return Categories, nil
	case CategoryTransactional, CategoryMarketing:
		return []string{c}, nil
	}
	return nil, invalidf("category", "invalid_category", "%q is not transactional, marketing or all", c)
}

// SuppressionInput suppresses an address through the API.
type SuppressionInput struct {
	// Category is transactional, marketing, or "" / "all" for both.
	Category  string
	Reason    string
	ExpiresAt *time.Time
}

// ListSuppressions lists the tenant's active suppressions, by address;
// address and category ("" for any) narrow it.
func (s *Service) ListSuppressions(ctx context.Context, a auth.Actor, tenantID string, p store.Page, address, category string) ([]Suppression, string, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return nil, "", err
	}
	if address != "" {
		var err error
		if address, err = suppressionAddress(address); err != nil {
			return nil, "", err
		}
	}
	if category != "" {
		if _, err := checkCategory(category); err != nil || category == "all" {
			return nil, "", invalidf("category", "invalid_category", "%q is not transactional or marketing", category)
		}
	}
	var out []Suppression
	var next string
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, next, err = scope{tx.Tenant(tenantID)}.suppressionList(ctx, p, address, category, s.now())
		return err
	})
	return out, next, err
}

// PutSuppression suppresses an address (source api) in the input's
// categories, replacing what was there; it returns the address's
// suppressions. Audited.
func (s *Service) PutSuppression(ctx context.Context, a auth.Actor, tenantID, address string, in SuppressionInput) ([]Suppression, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermJobsWrite); err != nil {
		return nil, err
	}
	addr, err := suppressionAddress(address)
	if err != nil {
		return nil, err
	}
	cats, err := checkCategory(in.Category)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		return nil, invalidf("expires_at", "invalid_expires_at", "expires_at must be in the future")
	}
	if !store.ValidText(in.Reason) {
		return nil, core.InvalidText("reason")
	}
	if len(in.Reason) > 1000 {
		return nil, invalidf("reason", "invalid_reason", "at most 1000 bytes")
	}
	var out []Suppression
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		q := scope{tx.Tenant(tenantID)}
		for _, c := range cats {
			if err := q.suppressionUpsert(ctx, Suppression{Address: addr, Category: c, Reason: in.Reason, Source: SuppressionAPI,
				ExpiresAt: in.ExpiresAt, CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		if err := s.core.Audit(ctx, tx, a, tenantID, "email_suppression.put", "email_suppression", addr,
			map[string]any{"categories": cats, "reason": in.Reason}); err != nil {
			return err
		}
		var err error
		out, _, err = q.suppressionList(ctx, store.Page{Limit: 10}, addr, "", now)
		return err
	})
	return out, err
}

// DeleteSuppression releases an address (in category, or all with ""):
// sends to it are attempted again. No suppression is core's not found.
// Audited.
func (s *Service) DeleteSuppression(ctx context.Context, a auth.Actor, tenantID, address, category string) error {
	if err := s.core.TenantAccess(a, tenantID, auth.PermJobsWrite); err != nil {
		return err
	}
	addr, err := suppressionAddress(address)
	if err != nil {
		return err
	}
	if category == "all" {
		category = ""
	}
	if _, err := checkCategory(category); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		n, err := scope{tx.Tenant(tenantID)}.suppressionDelete(ctx, addr, category)
		if err != nil {
			return err
		}
		if n == 0 {
			return core.NotFound("%s is not suppressed", addr)
		}
		return s.core.Audit(ctx, tx, a, tenantID, "email_suppression.delete", "email_suppression", addr,
			map[string]any{"category": category})
	})
}

// recipients are the bare, lower-case addresses an email goes to.
func recipients(e Email) []string {
	var out []string
	seen := map[string]bool{}
	for _, list := range [][]string{e.To, e.Cc, e.Bcc} {
		for _, a := range list {
			addr := strings.ToLower(bareAddress(a))
			if !seen[addr] {
				seen[addr] = true
				out = append(out, addr)
			}
		}
	}
	return out
}

// recordSuppressed is the send job's answer to an email with a recipient
// suppressed in its category (found before the provider is called): the
// email is recorded as suppressed (status, event, timeline), not sent.
func (s *Service) recordSuppressed(ctx context.Context, e Email, sup Suppression) error {
	now := s.now()
	detail := fmt.Sprintf("%s is suppressed for %s mail (%s", sup.Address, sup.Category, sup.Source)
	if sup.Reason != "" {
		detail += ": " + sup.Reason
	}
	detail = store.SafeText(detail + "); not sent")
	e.Status, e.Error, e.UpdatedAt = StatusSuppressed, detail, now
	return s.db.Write(ctx, func(tx *store.Tx) error {
		sc := tx.Tenant(e.TenantID)
		q := scope{sc}
		if err := q.emailFinishWith(ctx, e, Event{EmailID: e.ID, Type: StatusSuppressed, Detail: detail, CreatedAt: now}); err != nil {
			return err
		}
		return s.timeline(ctx, sc, e, "email.suppressed", fmt.Sprintf("Email %q not sent: %s", e.Subject, detail), now)
	})
}
