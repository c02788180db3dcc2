package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// WebhookSource is a tenant's inbound webhook endpoint for one provider.
type WebhookSource struct {
	ID           string
	TenantID     string
	Name         string
	Provider     string
	Config       json.RawMessage // provider settings; secrets inside are sealed
	ForwardURL   string
	ForwardTypes []string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

const sourceCols = "id, tenant_id, name, provider, config, forward_url, forward_types, created_at, updated_at"

func scanSource(r Row) (WebhookSource, error) {
	var s WebhookSource
	var cfg, types string
	err := r.Scan(&s.ID, &s.TenantID, &s.Name, &s.Provider, &cfg, &s.ForwardURL, &types, &s.CreatedAt, &s.UpdatedAt)
	s.Config = json.RawMessage(cfg)
	_ = json.Unmarshal([]byte(types), &s.ForwardTypes)
	return s, err
}

// WebhookSourcePut creates or replaces the source with s.Name; it reports
// whether it was created.
func (s *Scope) WebhookSourcePut(ctx context.Context, src WebhookSource) (WebhookSource, bool, error) {
	types, _ := json.Marshal(src.ForwardTypes)
	if src.ForwardTypes == nil {
		types = []byte("[]")
	}
	old, err := s.WebhookSourceGet(ctx, src.Name)
	switch {
	case errors.Is(err, ErrNotFound):
		src.TenantID = s.tenantID
		_, err := s.tx.Exec(ctx, "INSERT INTO webhook_sources ("+sourceCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			src.ID, s.tenantID, src.Name, src.Provider, string(src.Config), src.ForwardURL, string(types), src.CreatedAt, src.UpdatedAt)
		return src, true, err
	case err != nil:
		return src, false, err
	}
	src.ID, src.TenantID, src.CreatedAt = old.ID, s.tenantID, old.CreatedAt
	_, err = s.tx.Exec(ctx, `UPDATE webhook_sources SET provider = ?, config = ?, forward_url = ?, forward_types = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ?`, src.Provider, string(src.Config), src.ForwardURL, string(types), src.UpdatedAt, s.tenantID, old.ID)
	return src, false, err
}

// WebhookSourceGet finds a source by name.
func (s *Scope) WebhookSourceGet(ctx context.Context, name string) (WebhookSource, error) {
	return scanSource(s.tx.QueryRow(ctx, "SELECT "+sourceCols+" FROM webhook_sources WHERE tenant_id = ? AND name = ?", s.tenantID, name))
}

// WebhookSourceList lists the tenant's sources by name.
func (s *Scope) WebhookSourceList(ctx context.Context) ([]WebhookSource, error) {
	rows, err := s.tx.Query(ctx, "SELECT "+sourceCols+" FROM webhook_sources WHERE tenant_id = ? ORDER BY name", s.tenantID)
	return Collect(rows, err, func(r Rows) (WebhookSource, error) { return scanSource(r) })
}

// WebhookSourceDelete deletes a source (by id) with its events and rejections.
func (s *Scope) WebhookSourceDelete(ctx context.Context, id string) error {
	for _, q := range []string{"DELETE FROM webhook_rejections WHERE tenant_id = ? AND source_id = ?",
		"DELETE FROM webhook_events WHERE tenant_id = ? AND source_id = ?",
		"DELETE FROM webhook_sources WHERE tenant_id = ? AND id = ?"} {
		if _, err := s.tx.Exec(ctx, q, s.tenantID, id); err != nil {
			return err
		}
	}
	return nil
}

// WebhookEvent is one event a source received.
type WebhookEvent struct {
	ID              string
	TenantID        string
	SourceID        string
	SourceName      string
	ProviderEventID string
	EventType       string
	ContentType     string
	Headers         json.RawMessage
	Body            []byte
	Verification    string
	ForwardJobID    string
	CorrelationID   string
	ReceivedAt      time.Time
	// Status: stored (nothing to deliver), pending, delivered, dead, cancelled.
	Status string
}

// WebhookEventInsert stores an event unless the source already has one with
// the same provider event id; it then returns the stored one and false.
func (s *Scope) WebhookEventInsert(ctx context.Context, e WebhookEvent) (WebhookEvent, bool, error) {
	n, err := s.tx.Exec(ctx, `INSERT INTO webhook_events (id, tenant_id, source_id, provider_event_id, event_type, content_type, headers, body,
		verification, forward_job_id, correlation_id, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (source_id, provider_event_id) DO NOTHING`,
		e.ID, s.tenantID, e.SourceID, e.ProviderEventID, e.EventType, e.ContentType, e.Headers, e.Body, e.Verification, e.ForwardJobID, e.CorrelationID, e.ReceivedAt)
	if err != nil {
		return e, false, err
	}
	if n == 1 {
		e.TenantID = s.tenantID
		return e, true, nil
	}
	var id string
	if err := s.tx.QueryRow(ctx, "SELECT id FROM webhook_events WHERE tenant_id = ? AND source_id = ? AND provider_event_id = ?",
		s.tenantID, e.SourceID, e.ProviderEventID).Scan(&id); err != nil {
		return e, false, err
	}
	got, err := s.WebhookEventGet(ctx, id)
	return got, false, err
}

// WebhookEventInsertMany stores events with one multi-row insert per 100,
// skipping any whose (source, provider event id) is already stored or comes
// earlier in evs. It reports, in order, whether each was inserted; each
// event not inserted is replaced by the stored one. Rows go in in key order,
// so concurrent calls (PostgreSQL) wait on each other's keys in one order
// and cannot deadlock.
func (s *Scope) WebhookEventInsertMany(ctx context.Context, evs []WebhookEvent) ([]bool, error) {
	inserted := make([]bool, len(evs))
	order := make([]int, len(evs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(evs[a].SourceID, evs[b].SourceID), cmp.Compare(evs[a].ProviderEventID, evs[b].ProviderEventID))
	})
	for start := 0; start < len(order); start += 100 {
		chunk := order[start:min(start+100, len(order))]
		var q strings.Builder
		q.WriteString(`INSERT INTO webhook_events (id, tenant_id, source_id, provider_event_id, event_type, content_type, headers, body,
		verification, forward_job_id, correlation_id, received_at) VALUES `)
		args := make([]any, 0, len(chunk)*12)
		at := make(map[string]int, len(chunk))
		for k, i := range chunk {
			e := evs[i]
			if k > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, e.ID, s.tenantID, e.SourceID, e.ProviderEventID, e.EventType, e.ContentType, e.Headers, e.Body,
				e.Verification, e.ForwardJobID, e.CorrelationID, e.ReceivedAt)
			at[e.ID] = i
		}
		q.WriteString(" ON CONFLICT (source_id, provider_event_id) DO NOTHING RETURNING id")
		rows, err := s.tx.Query(ctx, q.String(), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			if i, ok := at[id]; ok {
				inserted[i] = true
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	for i, e := range evs {
		if inserted[i] {
			evs[i].TenantID = s.tenantID
			continue
		}
		var id string
		if err := s.tx.QueryRow(ctx, "SELECT id FROM webhook_events WHERE tenant_id = ? AND source_id = ? AND provider_event_id = ?",
			s.tenantID, e.SourceID, e.ProviderEventID).Scan(&id); err != nil {
			return nil, err
		}
		got, err := s.WebhookEventGet(ctx, id)
		if err != nil {
			return nil, err
		}
		evs[i] = got
	}
	return inserted, nil
}

// WebhookEventSetForwardJob records the job that delivers (or redelivers) an event.
func (s *Scope) WebhookEventSetForwardJob(ctx context.Context, id, jobID string) error {
	_, err := s.tx.Exec(ctx, "UPDATE webhook_events SET forward_job_id = ? WHERE tenant_id = ? AND id = ?", jobID, s.tenantID, id)
	return err
}

const eventCols = `e.id, e.tenant_id, e.source_id, w.name, e.provider_event_id, e.event_type, e.content_type, e.headers, e.body, e.verification,
	e.forward_job_id, e.correlation_id, e.received_at, COALESCE(CAST(r.state AS TEXT), ''), COALESCE(j.dead_reason, '')`

const eventFrom = ` FROM webhook_events e JOIN webhook_sources w ON w.id = e.source_id
	LEFT JOIN jobs j ON j.id = e.forward_job_id LEFT JOIN river_job r ON r.id = j.river_id`

// webhookStatusSQL selects each event status.
var webhookStatusSQL = map[string]string{
	"stored":    "e.forward_job_id = ''",
	"pending":   "(e.forward_job_id <> '' AND r.state IN ('available', 'scheduled', 'running', 'retryable', 'pending'))",
	"delivered": "r.state = 'completed'",
	"dead":      "(r.state = 'discarded' OR (r.state = 'cancelled' AND j.dead_reason <> ''))",
	"cancelled": "(r.state = 'cancelled' AND j.dead_reason = '')",
}

// WebhookStatuses are the event statuses.
var WebhookStatuses = []string{"stored", "pending", "delivered", "dead", "cancelled"}

func scanEvent(r Row) (WebhookEvent, error) {
	var e WebhookEvent
	var headers []byte
	var state, dead string
	err := r.Scan(&e.ID, &e.TenantID, &e.SourceID, &e.SourceName, &e.ProviderEventID, &e.EventType, &e.ContentType, &headers, &e.Body,
		&e.Verification, &e.ForwardJobID, &e.CorrelationID, &e.ReceivedAt, &state, &dead)
	e.Headers = headers
	switch {
	case e.ForwardJobID == "":
		e.Status = "stored"
	case state == "":
		e.Status = "pending"
	default:
		switch JobState(state, dead) {
		case "completed":
			e.Status = "delivered"
		case "dead":
			e.Status = "dead"
		case "cancelled":
			e.Status = "cancelled"
		default:
			e.Status = "pending"
		}
	}
	return e, err
}

// WebhookEventGet finds an event of the tenant.
func (s *Scope) WebhookEventGet(ctx context.Context, id string) (WebhookEvent, error) {
	return scanEvent(s.tx.QueryRow(ctx, "SELECT "+eventCols+eventFrom+" WHERE e.tenant_id = ? AND e.id = ?", s.tenantID, id))
}

// WebhookEventFilter narrows an event listing.
type WebhookEventFilter struct {
	Source          string // source name
	Type            string
	ProviderEventID string
	Statuses        []string
	Since, Until    time.Time
}

// WebhookEventList lists events newest first.
func (s *Scope) WebhookEventList(ctx context.Context, p Page, f WebhookEventFilter) ([]WebhookEvent, string, error) {
	after, err := p.After()
	if err != nil {
		return nil, "", err
	}
	q := "SELECT " + eventCols + eventFrom + " WHERE e.tenant_id = ?"
	args := []any{s.tenantID}
	if after != "" {
		q += " AND e.id < ?"
		args = append(args, after)
	}
	for _, c := range []struct{ cond, v string }{{"w.name = ?", f.Source}, {"e.event_type = ?", f.Type}, {"e.provider_event_id = ?", f.ProviderEventID}} {
		if c.v != "" {
			q += " AND " + c.cond
			args = append(args, c.v)
		}
	}
	if len(f.Statuses) > 0 {
		q += " AND ("
		for i, st := range f.Statuses {
			cond, ok := webhookStatusSQL[st]
			if !ok {
				return nil, "", fmt.Errorf("unknown event status %q", st)
			}
			if i > 0 {
				q += " OR "
			}
			q += cond
		}
		q += ")"
	}
	if !f.Since.IsZero() {
		q += " AND e.received_at >= ?"
		args = append(args, f.Since)
	}
	if !f.Until.IsZero() {
		q += " AND e.received_at < ?"
		args = append(args, f.Until)
	}
	q += " ORDER BY e.id DESC LIMIT ?"
	args = append(args, p.Size()+1)
	rows, err := s.tx.Query(ctx, q, args...)
	items, err := Collect(rows, err, func(r Rows) (WebhookEvent, error) { return scanEvent(r) })
	if err != nil {
		return nil, "", err
	}
	items, next := PageOf(items, p.Size(), func(e WebhookEvent) string { return e.ID })
	return items, next, nil
}

// WebhookRejection is a refused delivery, kept for diagnosis (never trusted as an event).
type WebhookRejection struct {
	ID         string
	SourceID   string
	Code       string
	Detail     string
	Headers    json.RawMessage
	Size       int
	RemoteIP   string
	ReceivedAt time.Time
}

// WebhookRejectionAdd records a rejection and keeps only the newest keep per source.
func (s *Scope) WebhookRejectionAdd(ctx context.Context, r WebhookRejection, keep int) error {
	if _, err := s.tx.Exec(ctx, `INSERT INTO webhook_rejections (id, tenant_id, source_id, code, detail, headers, size, remote_ip, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, s.tenantID, r.SourceID, r.Code, r.Detail, r.Headers, r.Size, r.RemoteIP, r.ReceivedAt); err != nil {
		return err
	}
	_, err := s.tx.Exec(ctx, `DELETE FROM webhook_rejections WHERE tenant_id = ? AND source_id = ? AND id NOT IN
		(SELECT id FROM webhook_rejections WHERE tenant_id = ? AND source_id = ? ORDER BY id DESC LIMIT ?)`,
		s.tenantID, r.SourceID, s.tenantID, r.SourceID, keep)
	return err
}

// WebhookRejectionList lists a source's rejections, newest first.
func (s *Scope) WebhookRejectionList(ctx context.Context, sourceID string) ([]WebhookRejection, error) {
	rows, err := s.tx.Query(ctx, `SELECT id, source_id, code, detail, headers, size, remote_ip, received_at FROM webhook_rejections
		WHERE tenant_id = ? AND source_id = ? ORDER BY id DESC`, s.tenantID, sourceID)
	return Collect(rows, err, func(r Rows) (WebhookRejection, error) {
		var x WebhookRejection
		var h []byte
		err := r.Scan(&x.ID, &x.SourceID, &x.Code, &x.Detail, &h, &x.Size, &x.RemoteIP, &x.ReceivedAt)
		x.Headers = h
		return x, err
	})
}

// WebhookEventPurge deletes every tenant's events received before t (their
// dedup keys go with them), at most limit rows per call.
func (tx *Tx) WebhookEventPurge(ctx context.Context, before time.Time, limit int) (int64, error) {
	return tx.Exec(ctx, `DELETE FROM webhook_events WHERE id IN
		(SELECT id FROM webhook_events WHERE received_at < ? ORDER BY id LIMIT ?)`, before, limit)
}
