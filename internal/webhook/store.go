package webhook

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/store"
)

// The webhook system's storage: its own tables (webhook_sources,
// webhook_events, webhook_rejections), each tenant-scoped query taking
// the *store.Scope and constraining on its tenant. An event's status comes
// from its forward job through the jobs system's hooks (jobs.States,
// jobs.InStates), never by reading the jobs tables here.

// SourceRecord is a tenant's inbound webhook endpoint for one provider, as
// stored.
type SourceRecord struct {
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

func scanSource(r store.Row) (SourceRecord, error) {
	var s SourceRecord
	var cfg, types string
	err := r.Scan(&s.ID, &s.TenantID, &s.Name, &s.Provider, &cfg, &s.ForwardURL, &types, &s.CreatedAt, &s.UpdatedAt)
	s.Config = json.RawMessage(cfg)
	_ = json.Unmarshal([]byte(types), &s.ForwardTypes)
	return s, err
}

// sourcePut creates or replaces the source with src.Name; it reports
// whether it was created.
func sourcePut(ctx context.Context, sc *store.Scope, src SourceRecord) (SourceRecord, bool, error) {
	types, _ := json.Marshal(src.ForwardTypes)
	if src.ForwardTypes == nil {
		types = []byte("[]")
	}
	old, err := sourceGet(ctx, sc, src.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		src.TenantID = sc.TenantID()
		_, err := sc.Tx().Exec(ctx, "INSERT INTO webhook_sources ("+sourceCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			src.ID, sc.TenantID(), src.Name, src.Provider, string(src.Config), src.ForwardURL, string(types), src.CreatedAt, src.UpdatedAt)
		return src, true, err
	case err != nil:
		return src, false, err
	}
	src.ID, src.TenantID, src.CreatedAt = old.ID, sc.TenantID(), old.CreatedAt
	_, err = sc.Tx().Exec(ctx, `UPDATE webhook_sources SET provider = ?, config = ?, forward_url = ?, forward_types = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ?`, src.Provider, string(src.Config), src.ForwardURL, string(types), src.UpdatedAt, sc.TenantID(), old.ID)
	return src, false, err
}

// sourceGet finds a source by name.
func sourceGet(ctx context.Context, sc *store.Scope, name string) (SourceRecord, error) {
	return scanSource(sc.Tx().QueryRow(ctx, "SELECT "+sourceCols+" FROM webhook_sources WHERE tenant_id = ? AND name = ?", sc.TenantID(), name))
}

// sourceList lists the tenant's sources by name.
func sourceList(ctx context.Context, sc *store.Scope) ([]SourceRecord, error) {
	rows, err := sc.Tx().Query(ctx, "SELECT "+sourceCols+" FROM webhook_sources WHERE tenant_id = ? ORDER BY name", sc.TenantID())
	return store.Collect(rows, err, func(r store.Rows) (SourceRecord, error) { return scanSource(r) })
}

// sourceDelete deletes a source (by id) with its events and rejections.
func sourceDelete(ctx context.Context, sc *store.Scope, id string) error {
	for _, q := range []string{"DELETE FROM webhook_rejections WHERE tenant_id = ? AND source_id = ?",
		"DELETE FROM webhook_events WHERE tenant_id = ? AND source_id = ?",
		"DELETE FROM webhook_sources WHERE tenant_id = ? AND id = ?"} {
		if _, err := sc.Tx().Exec(ctx, q, sc.TenantID(), id); err != nil {
			return err
		}
	}
	return nil
}

// Event is one event a source received.
type Event struct {
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
	// Status (one of EventStatuses): stored (nothing to deliver), pending,
	// delivered, dead, cancelled.
	Status string
}

// EventStatuses are the event statuses.
var EventStatuses = []string{"stored", "pending", "delivered", "dead", "cancelled"}

// statusJobStates are the forward job's states (jobs' user-visible ones)
// of each status but stored, which has no forward job.
var statusJobStates = map[string][]string{
	"pending":   {"scheduled", "available", "running", "retrying"},
	"delivered": {"completed"},
	"dead":      {"dead"},
	"cancelled": {"cancelled"},
}

// statusOf is the status of an event whose forward job (jobID, if any)
// is in jobState ("": not kept, shown as pending as it always was).
func statusOf(jobID, jobState string) string {
	switch {
	case jobID == "":
		return "stored"
	case jobState == "completed":
		return "delivered"
	case jobState == "dead", jobState == "cancelled":
		return jobState
	}
	return "pending"
}

// withStatus sets the status of each event from its forward job's state,
// asked of the jobs system in one query.
func withStatus(ctx context.Context, sc *store.Scope, evs []Event) error {
	var ids []string
	for _, e := range evs {
		if e.ForwardJobID != "" {
			ids = append(ids, e.ForwardJobID)
		}
	}
	states := map[string]string{}
	if len(ids) > 0 {
		var err error
		if states, err = jobs.States(ctx, sc, ids); err != nil {
			return fmt.Errorf("forward jobs' states: %w", err)
		}
	}
	for i := range evs {
		evs[i].Status = statusOf(evs[i].ForwardJobID, states[evs[i].ForwardJobID])
	}
	return nil
}

// eventInsert stores an event unless the source already has one with the
// same provider event id; it then returns the stored one and false.
func eventInsert(ctx context.Context, sc *store.Scope, e Event) (Event, bool, error) {
	n, err := sc.Tx().Exec(ctx, `INSERT INTO webhook_events (id, tenant_id, source_id, provider_event_id, event_type, content_type, headers, body,
		verification, forward_job_id, correlation_id, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (source_id, provider_event_id) DO NOTHING`,
		e.ID, sc.TenantID(), e.SourceID, e.ProviderEventID, e.EventType, e.ContentType, e.Headers, e.Body, e.Verification, e.ForwardJobID, e.CorrelationID, e.ReceivedAt)
	if err != nil {
		return e, false, err
	}
	if n == 1 {
		e.TenantID = sc.TenantID()
		return e, true, nil
	}
	got, err := eventGetByKey(ctx, sc, e.SourceID, e.ProviderEventID)
	return got, false, err
}

// eventGetByKey finds the event a source stored under a provider event id.
func eventGetByKey(ctx context.Context, sc *store.Scope, sourceID, providerEventID string) (Event, error) {
	var id string
	if err := sc.Tx().QueryRow(ctx, "SELECT id FROM webhook_events WHERE tenant_id = ? AND source_id = ? AND provider_event_id = ?",
		sc.TenantID(), sourceID, providerEventID).Scan(&id); err != nil {
		return Event{}, err
	}
	return eventGet(ctx, sc, id)
}

// eventInsertMany stores events with one multi-row insert per 100,
// skipping any whose (source, provider event id) is already stored or
// comes earlier in evs. It reports, in order, whether each was inserted;
// each event not inserted is replaced by the stored one. Rows go in in key
// order, so concurrent calls (PostgreSQL) wait on each other's keys in one
// order and cannot deadlock.
func eventInsertMany(ctx context.Context, sc *store.Scope, evs []Event) ([]bool, error) {
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
			args = append(args, e.ID, sc.TenantID(), e.SourceID, e.ProviderEventID, e.EventType, e.ContentType, e.Headers, e.Body,
				e.Verification, e.ForwardJobID, e.CorrelationID, e.ReceivedAt)
			at[e.ID] = i
		}
		q.WriteString(" ON CONFLICT (source_id, provider_event_id) DO NOTHING RETURNING id")
		rows, err := sc.Tx().Query(ctx, q.String(), args...)
		ids, err := store.Collect(rows, err, func(r store.Rows) (string, error) {
			var id string
			return id, r.Scan(&id)
		})
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if i, ok := at[id]; ok {
				inserted[i] = true
			}
		}
	}
	for i, e := range evs {
		if inserted[i] {
			evs[i].TenantID = sc.TenantID()
			continue
		}
		got, err := eventGetByKey(ctx, sc, e.SourceID, e.ProviderEventID)
		if err != nil {
			return nil, err
		}
		evs[i] = got
	}
	return inserted, nil
}

// eventSetForwardJob records the job that delivers (or redelivers) an event.
func eventSetForwardJob(ctx context.Context, sc *store.Scope, id, jobID string) error {
	_, err := sc.Tx().Exec(ctx, "UPDATE webhook_events SET forward_job_id = ? WHERE tenant_id = ? AND id = ?", jobID, sc.TenantID(), id)
	return err
}

const eventCols = `e.id, e.tenant_id, e.source_id, w.name, e.provider_event_id, e.event_type, e.content_type, e.headers, e.body, e.verification,
	e.forward_job_id, e.correlation_id, e.received_at`

const eventFrom = " FROM webhook_events e JOIN webhook_sources w ON w.id = e.source_id"

func scanEvent(r store.Row) (Event, error) {
	var e Event
	var headers []byte
	err := r.Scan(&e.ID, &e.TenantID, &e.SourceID, &e.SourceName, &e.ProviderEventID, &e.EventType, &e.ContentType, &headers, &e.Body,
		&e.Verification, &e.ForwardJobID, &e.CorrelationID, &e.ReceivedAt)
	e.Headers = headers
	return e, err
}

// eventRead finds an event of the tenant as stored, without its status
// (which eventGet adds).
func eventRead(ctx context.Context, sc *store.Scope, id string) (Event, error) {
	return scanEvent(sc.Tx().QueryRow(ctx, "SELECT "+eventCols+eventFrom+" WHERE e.tenant_id = ? AND e.id = ?", sc.TenantID(), id))
}

// eventGet finds an event of the tenant, with its status.
func eventGet(ctx context.Context, sc *store.Scope, id string) (Event, error) {
	e, err := eventRead(ctx, sc, id)
	if err != nil {
		return e, err
	}
	evs := []Event{e}
	err = withStatus(ctx, sc, evs)
	return evs[0], err
}

// EventFilter narrows an event listing.
type EventFilter struct {
	Source          string // source name
	Type            string
	ProviderEventID string
	Statuses        []string // of EventStatuses; any of them
	Since, Until    time.Time
}

// statusCond is the condition selecting events whose status is one of
// statuses: stored is the event's own (no forward job); the others are
// their forward job's state, a condition the jobs system writes
// (jobs.InStates), so the page still stops at its LIMIT.
func statusCond(sc *store.Scope, statuses []string) (string, []any, error) {
	var conds []string
	var args []any
	var states []string
	for _, st := range statuses {
		switch js, ok := statusJobStates[st]; {
		case st == "stored":
			conds = append(conds, "e.forward_job_id = ''")
		case ok:
			states = append(states, js...)
		default:
			return "", nil, fmt.Errorf("unknown event status %q", st)
		}
	}
	if len(states) > 0 {
		cond, a, err := jobs.InStates(sc, "e.forward_job_id", states)
		if err != nil {
			return "", nil, err
		}
		conds, args = append(conds, cond), append(args, a...)
	}
	return "(" + strings.Join(conds, " OR ") + ")", args, nil
}

// eventList lists events newest first.
func eventList(ctx context.Context, sc *store.Scope, p store.Page, f EventFilter) ([]Event, string, error) {
	after, err := p.After()
	if err != nil {
		return nil, "", err
	}
	q := "SELECT " + eventCols + eventFrom + " WHERE e.tenant_id = ?"
	args := []any{sc.TenantID()}
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
		cond, a, err := statusCond(sc, f.Statuses)
		if err != nil {
			return nil, "", err
		}
		q += " AND " + cond
		args = append(args, a...)
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
	rows, err := sc.Tx().Query(ctx, q, args...)
	items, err := store.Collect(rows, err, func(r store.Rows) (Event, error) { return scanEvent(r) })
	if err != nil {
		return nil, "", err
	}
	items, next := store.PageOf(items, p, func(e Event) string { return e.ID })
	if err := withStatus(ctx, sc, items); err != nil {
		return nil, "", err
	}
	return items, next, nil
}

// eventPurge deletes every tenant's events received before t (their dedup
// keys go with them), at most limit rows per call.
func eventPurge(ctx context.Context, tx *store.Tx, before time.Time, limit int) (int64, error) {
	return tx.Exec(ctx, `DELETE FROM webhook_events WHERE id IN
		(SELECT id FROM webhook_events WHERE received_at < ? ORDER BY id LIMIT ?)`, before, limit)
}

// Rejection is a refused delivery, kept for diagnosis (never trusted as an event).
type Rejection struct {
	ID         string
	SourceID   string
	Code       string
	Detail     string
	Headers    json.RawMessage
	Size       int
	RemoteIP   string
	ReceivedAt time.Time
}

// rejectionAdd records a rejection and keeps only the newest keep per source.
func rejectionAdd(ctx context.Context, sc *store.Scope, r Rejection, keep int) error {
	if _, err := sc.Tx().Exec(ctx, `INSERT INTO webhook_rejections (id, tenant_id, source_id, code, detail, headers, size, remote_ip, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, sc.TenantID(), r.SourceID, r.Code, r.Detail, r.Headers, r.Size, r.RemoteIP, r.ReceivedAt); err != nil {
		return err
	}
	_, err := sc.Tx().Exec(ctx, `DELETE FROM webhook_rejections WHERE tenant_id = ? AND source_id = ? AND id NOT IN
		(SELECT id FROM webhook_rejections WHERE tenant_id = ? AND source_id = ? ORDER BY id DESC LIMIT ?)`,
		sc.TenantID(), r.SourceID, sc.TenantID(), r.SourceID, keep)
	return err
}

// rejectionList lists a source's rejections, newest first.
func rejectionList(ctx context.Context, sc *store.Scope, sourceID string) ([]Rejection, error) {
	rows, err := sc.Tx().Query(ctx, `SELECT id, source_id, code, detail, headers, size, remote_ip, received_at FROM webhook_rejections
		WHERE tenant_id = ? AND source_id = ? ORDER BY id DESC`, sc.TenantID(), sourceID)
	return store.Collect(rows, err, func(r store.Rows) (Rejection, error) {
		var x Rejection
		var h []byte
		err := r.Scan(&x.ID, &x.SourceID, &x.Code, &x.Detail, &h, &x.Size, &x.RemoteIP, &x.ReceivedAt)
		x.Headers = h
		return x, err
	})
}
