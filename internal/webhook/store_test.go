package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/store/storetest"
)

// testJob stores a job of tenantID as the jobs system keeps one (River's
// row in riverState, joist's row with deadReason) and returns its id: the
// fixture of the forward jobs whose states make events' statuses.
func testJob(t *testing.T, db *store.DB, tenantID, id, riverState, deadReason string) string {
	t.Helper()
	ctx := context.Background()
	var fin *time.Time
	if riverState == "completed" || riverState == "cancelled" || riverState == "discarded" {
		now := time.Now().UTC()
		fin = &now
	}
	err := db.Write(ctx, func(tx *store.Tx) error {
		var riverID int64
		// The state is a literal: on PostgreSQL it is River's enum.
		if err := tx.QueryRow(ctx, "INSERT INTO river_job (args, kind, max_attempts, state, finalized_at) VALUES ('{}', 'http_push', 3, '"+riverState+"', ?) RETURNING id",
			fin).Scan(&riverID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO jobs (id, tenant_id, river_id, kind, queue, dead_reason, created_at) VALUES (?, ?, ?, 'http_push', 'default', ?, ?)",
			id, tenantID, riverID, deadReason, time.Now().UTC())
		return err
	})
	if err != nil {
		t.Fatalf("job %s (%s): %v", id, riverState, err)
	}
	return id
}

func ids(evs []Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

// TestStore runs the webhook system's queries on both stores: sources,
// events (insert with dedup, get, list with paging and every filter, the
// status from the forward job's state), rejections, tenant confinement,
// and the purge.
func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := jobs.MigrateRiver(ctx, db); err != nil {
			t.Fatal(err)
		}
		base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		acme, other := storetest.Tenant(t, db, "acme"), storetest.Tenant(t, db, "other")
		write := func(f func(sc *store.Scope) error) {
			t.Helper()
			if err := db.Write(ctx, func(tx *store.Tx) error { return f(tx.Tenant(acme.ID)) }); err != nil {
				t.Fatal(err)
			}
		}
		read := func(tenantID string, f func(sc *store.Scope) error) error {
			return db.Read(ctx, func(tx *store.Tx) error { return f(tx.Tenant(tenantID)) })
		}

		// Sources: created, then replaced in place; listed by name.
		var gh, shop SourceRecord
		write(func(sc *store.Scope) error {
			var created bool
			var err error
			if shop, created, err = sourcePut(ctx, sc, SourceRecord{ID: "whs_2", Name: "shop", Provider: "stripe", Config: json.RawMessage(`{}`),
				CreatedAt: base, UpdatedAt: base}); err != nil || !created {
				return fmt.Errorf("put shop: created %v, %v", created, err)
			}
			if gh, created, err = sourcePut(ctx, sc, SourceRecord{ID: "whs_1", Name: "gh", Provider: "github", Config: json.RawMessage(`{}`),
				CreatedAt: base, UpdatedAt: base}); err != nil || !created {
				return fmt.Errorf("put gh: created %v, %v", created, err)
			}
			again, created, err := sourcePut(ctx, sc, SourceRecord{ID: "whs_new", Name: "gh", Provider: "github", Config: json.RawMessage(`{"a":1}`),
				ForwardURL: "https://app.example/hook", ForwardTypes: []string{"push"}, CreatedAt: base.Add(time.Hour), UpdatedAt: base.Add(time.Hour)})
			if err != nil || created || again.ID != "whs_1" || !again.CreatedAt.Equal(base) {
				return fmt.Errorf("replace gh: created %v, id %s, created at %s, %v", created, again.ID, again.CreatedAt, err)
			}
			return nil
		})
		if err := read(acme.ID, func(sc *store.Scope) error {
			got, err := sourceGet(ctx, sc, "gh")
			if err != nil {
				return err
			}
			if got.ID != gh.ID || got.TenantID != acme.ID || got.ForwardURL != "https://app.example/hook" || !slices.Equal(got.ForwardTypes, []string{"push"}) ||
				string(got.Config) != `{"a":1}` || !got.CreatedAt.Equal(base) || !got.UpdatedAt.Equal(base.Add(time.Hour)) {
				return fmt.Errorf("gh after replace: %+v", got)
			}
			list, err := sourceList(ctx, sc)
			if err != nil || len(list) != 2 || list[0].Name != "gh" || list[1].Name != "shop" {
				return fmt.Errorf("sources: %+v %v", list, err)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}

		// Events 000..009, alternating sources and types, a minute apart;
		// their forward jobs' states make their statuses.
		type spec struct {
			src, typ, river, dead, want string
		}
		specs := []spec{
			{"gh", "push", "", "", "stored"},
			{"shop", "invoice.paid", "available", "", "pending"},
			{"gh", "push", "retryable", "", "pending"},
			{"shop", "invoice.paid", "completed", "", "delivered"},
			{"gh", "issues", "discarded", "", "dead"},
			{"shop", "invoice.paid", "cancelled", "event_gone", "dead"},
			{"gh", "push", "cancelled", "", "cancelled"},
			{"shop", "customer.created", "scheduled", "", "pending"},
			{"gh", "push", "completed", "", "delivered"},
			{"shop", "invoice.paid", "running", "", "pending"},
		}
		srcID := map[string]string{"gh": gh.ID, "shop": shop.ID}
		want := map[string]string{}
		for i, sp := range specs {
			e := Event{ID: fmt.Sprintf("evt_%03d", i), SourceID: srcID[sp.src], ProviderEventID: fmt.Sprintf("d-%d", i), EventType: sp.typ,
				ContentType: "application/json", Headers: json.RawMessage(`{"X-Event":"` + sp.typ + `"}`), Body: []byte(fmt.Sprintf(`{"n":%d}`, i)),
				Verification: "verified", CorrelationID: fmt.Sprintf("req_%d", i), ReceivedAt: base.Add(time.Duration(i) * time.Minute)}
			if sp.river != "" {
				e.ForwardJobID = testJob(t, db, acme.ID, fmt.Sprintf("job_%03d", i), sp.river, sp.dead)
			}
			write(func(sc *store.Scope) error {
				got, inserted, err := eventInsert(ctx, sc, e)
				if err != nil || !inserted || got.TenantID != acme.ID {
					return fmt.Errorf("insert %s: inserted %v, tenant %q, %v", e.ID, inserted, got.TenantID, err)
				}
				return nil
			})
			want[e.ID] = sp.want
		}
		// The same provider event id again: not stored, the stored one comes back.
		write(func(sc *store.Scope) error {
			got, inserted, err := eventInsert(ctx, sc, Event{ID: "evt_dup", SourceID: gh.ID, ProviderEventID: "d-2", Body: []byte("x"),
				Headers: json.RawMessage(`{}`), ReceivedAt: base})
			if err != nil || inserted || got.ID != "evt_002" || string(got.Body) != `{"n":2}` || got.Status != "pending" {
				return fmt.Errorf("duplicate: inserted %v, got %s %q %s, %v", inserted, got.ID, got.Body, got.Status, err)
			}
			return nil
		})
		if n := storetest.Count(t, db, "webhook_events"); n != 10 {
			t.Fatalf("%d events stored, want 10", n)
		}

		// Get: every field, the source's name, the status.
		if err := read(acme.ID, func(sc *store.Scope) error {
			e, err := eventGet(ctx, sc, "evt_003")
			if err != nil {
				return err
			}
			if e.SourceName != "shop" || e.SourceID != shop.ID || e.TenantID != acme.ID || e.ProviderEventID != "d-3" || e.EventType != "invoice.paid" ||
				e.ContentType != "application/json" || string(e.Body) != `{"n":3}` || e.Verification != "verified" || e.ForwardJobID != "job_003" ||
				e.CorrelationID != "req_3" || !e.ReceivedAt.Equal(base.Add(3*time.Minute)) || e.Status != "delivered" {
				return fmt.Errorf("evt_003: %+v", e)
			}
			var h map[string]string
			if err := json.Unmarshal(e.Headers, &h); err != nil || h["X-Event"] != "invoice.paid" {
				return fmt.Errorf("evt_003 headers %s: %v", e.Headers, err)
			}
			for id, st := range want {
				e, err := eventGet(ctx, sc, id)
				if err != nil || e.Status != st {
					return fmt.Errorf("%s: status %q, want %q (%v)", id, e.Status, st, err)
				}
			}
			// The reader billing is given: the event as stored, without status.
			s, err := StoredEvent(ctx, sc, "evt_005")
			if err != nil || string(s.Body) != `{"n":5}` || s.CorrelationID != "req_5" || s.ID != "evt_005" {
				return fmt.Errorf("stored event: %+v %v", s, err)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}

		list := func(tenantID string, p store.Page, f EventFilter) ([]Event, string) {
			t.Helper()
			var out []Event
			var next string
			if err := read(tenantID, func(sc *store.Scope) error {
				var err error
				out, next, err = eventList(ctx, sc, p, f)
				return err
			}); err != nil {
				t.Fatalf("list %+v: %v", f, err)
			}
			return out, next
		}
		// Every page of a listing, following the cursors.
		all := func(limit int, f EventFilter) []string {
			t.Helper()
			var got []string
			p := store.Page{Limit: limit}
			for range 20 {
				items, next := list(acme.ID, p, f)
				if len(items) > limit {
					t.Fatalf("page of %d items, limit %d", len(items), limit)
				}
				for _, e := range items {
					got = append(got, e.ID)
					if e.Status != want[e.ID] {
						t.Errorf("listed %s: status %q, want %q", e.ID, e.Status, want[e.ID])
					}
				}
				if next == "" {
					return got
				}
				p.Cursor = next
			}
			t.Fatalf("listing %+v does not end", f)
			return nil
		}
		newestFirst := func(idx ...int) []string {
			out := []string{}
			for i := len(idx) - 1; i >= 0; i-- {
				out = append(out, fmt.Sprintf("evt_%03d", idx[i]))
			}
			return out
		}
		for _, c := range []struct {
			name  string
			limit int
			f     EventFilter
			want  []string
		}{
			{"all, pages of 3", 3, EventFilter{}, newestFirst(0, 1, 2, 3, 4, 5, 6, 7, 8, 9)},
			{"source", 2, EventFilter{Source: "gh"}, newestFirst(0, 2, 4, 6, 8)},
			{"type", 2, EventFilter{Type: "invoice.paid"}, newestFirst(1, 3, 5, 9)},
			{"provider event id", 5, EventFilter{ProviderEventID: "d-4"}, newestFirst(4)},
			{"since, until", 2, EventFilter{Since: base.Add(2 * time.Minute), Until: base.Add(5 * time.Minute)}, newestFirst(2, 3, 4)},
			{"stored", 2, EventFilter{Statuses: []string{"stored"}}, newestFirst(0)},
			{"pending", 1, EventFilter{Statuses: []string{"pending"}}, newestFirst(1, 2, 7, 9)},
			{"delivered", 1, EventFilter{Statuses: []string{"delivered"}}, newestFirst(3, 8)},
			{"dead", 1, EventFilter{Statuses: []string{"dead"}}, newestFirst(4, 5)},
			{"cancelled", 1, EventFilter{Statuses: []string{"cancelled"}}, newestFirst(6)},
			{"stored or dead", 2, EventFilter{Statuses: []string{"stored", "dead"}}, newestFirst(0, 4, 5)},
			{"pending on shop, invoices", 1, EventFilter{Source: "shop", Type: "invoice.paid", Statuses: []string{"pending"}}, newestFirst(1, 9)},
		} {
			if got := all(c.limit, c.f); !slices.Equal(got, c.want) {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
			}
		}
		if err := read(acme.ID, func(sc *store.Scope) error {
			_, _, err := eventList(ctx, sc, store.Page{}, EventFilter{Statuses: []string{"lost"}})
			return err
		}); err == nil {
			t.Error("an unknown status was accepted")
		}

		// A forward job no longer kept (River cleaned it) shows pending, as
		// it always did, and matches no status filter; another tenant's job
		// named by an event does not lend it its state.
		testJob(t, db, other.ID, "job_other", "completed", "")
		write(func(sc *store.Scope) error {
			if err := eventSetForwardJob(ctx, sc, "evt_000", "job_gone"); err != nil {
				return err
			}
			return eventSetForwardJob(ctx, sc, "evt_006", "job_other")
		})
		want["evt_000"], want["evt_006"] = "pending", "pending"
		for _, st := range EventStatuses {
			for _, id := range all(50, EventFilter{Statuses: []string{st}}) {
				if id == "evt_000" || id == "evt_006" {
					t.Errorf("%s, whose forward job is not the tenant's, is listed as %s", id, st)
				}
			}
		}
		if got := all(4, EventFilter{}); len(got) != 10 {
			t.Errorf("all after re-pointing: %v", got)
		}

		// Another tenant's scope finds nothing of acme's.
		if err := read(other.ID, func(sc *store.Scope) error {
			if _, err := sourceGet(ctx, sc, "gh"); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("other tenant's source get: %v", err)
			}
			if l, err := sourceList(ctx, sc); err != nil || len(l) != 0 {
				return fmt.Errorf("other tenant's sources: %v %v", l, err)
			}
			if _, err := eventGet(ctx, sc, "evt_003"); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("other tenant's event get: %v", err)
			}
			if _, err := StoredEvent(ctx, sc, "evt_003"); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("other tenant's stored event: %v", err)
			}
			if b, err := EventBody(ctx, sc, "evt_003"); err == nil {
				return fmt.Errorf("other tenant's event body: %q", b)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if l, next := list(other.ID, store.Page{}, EventFilter{}); len(l) != 0 || next != "" {
			t.Errorf("other tenant's events: %v", ids(l))
		}
		if l, _ := list(other.ID, store.Page{}, EventFilter{Statuses: []string{"delivered"}}); len(l) != 0 {
			t.Errorf("other tenant's delivered events: %v", ids(l))
		}
		// Nor can it update or delete them.
		if err := db.Write(ctx, func(tx *store.Tx) error {
			sc := tx.Tenant(other.ID)
			if err := eventSetForwardJob(ctx, sc, "evt_001", ""); err != nil {
				return err
			}
			return sourceDelete(ctx, sc, gh.ID)
		}); err != nil {
			t.Fatal(err)
		}
		if n := storetest.Count(t, db, "webhook_events"); n != 10 {
			t.Fatalf("another tenant's delete removed events: %d left", n)
		}
		all(50, EventFilter{}) // every status as it was (evt_001 still pending)

		// Rejections: the newest keep per source, newest first.
		write(func(sc *store.Scope) error {
			for i := range 4 {
				src := gh.ID
				if i == 3 {
					src = shop.ID
				}
				if err := rejectionAdd(ctx, sc, Rejection{ID: fmt.Sprintf("rej_%d", i), SourceID: src, Code: "bad_signature",
					Headers: json.RawMessage(`{}`), Size: i, RemoteIP: "192.0.2.1", ReceivedAt: base}, 2); err != nil {
					return err
				}
			}
			return nil
		})
		if err := read(acme.ID, func(sc *store.Scope) error {
			l, err := rejectionList(ctx, sc, gh.ID)
			if err != nil || len(l) != 2 || l[0].ID != "rej_2" || l[1].ID != "rej_1" || l[0].Size != 2 || l[0].Code != "bad_signature" {
				return fmt.Errorf("gh rejections: %+v %v", l, err)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := read(other.ID, func(sc *store.Scope) error {
			l, err := rejectionList(ctx, sc, gh.ID)
			if err != nil || len(l) != 0 {
				return fmt.Errorf("other tenant sees rejections: %+v %v", l, err)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}

		// Purge: every tenant's events received before the time, at most
		// limit a call, oldest first.
		var oe SourceRecord
		if err := db.Write(ctx, func(tx *store.Tx) error {
			sc := tx.Tenant(other.ID)
			var err error
			if oe, _, err = sourcePut(ctx, sc, SourceRecord{ID: "whs_o", Name: "gh", Provider: "github", Config: json.RawMessage(`{}`),
				CreatedAt: base, UpdatedAt: base}); err != nil {
				return err
			}
			_, _, err = eventInsert(ctx, sc, Event{ID: "evt_o", SourceID: oe.ID, ProviderEventID: "d-0", Body: []byte("{}"),
				Headers: json.RawMessage(`{}`), ReceivedAt: base.Add(-time.Hour)})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		purge := func(before time.Time, limit int) int64 {
			t.Helper()
			var n int64
			if err := db.Write(ctx, func(tx *store.Tx) error {
				var err error
				n, err = eventPurge(ctx, tx, before, limit)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := purge(base.Add(3*time.Minute), 2); n != 2 {
			t.Fatalf("purge with limit 2: %d", n)
		}
		if n := purge(base.Add(3*time.Minute), 100); n != 2 {
			t.Fatalf("second purge: %d", n)
		}
		if got := all(50, EventFilter{}); !slices.Equal(got, newestFirst(3, 4, 5, 6, 7, 8, 9)) {
			t.Fatalf("after purge: %v", got)
		}
		if l, _ := list(other.ID, store.Page{}, EventFilter{}); len(l) != 0 {
			t.Fatalf("other tenant's old event not purged: %v", ids(l))
		}
		// The purged provider event id is free again.
		write(func(sc *store.Scope) error {
			_, inserted, err := eventInsert(ctx, sc, Event{ID: "evt_again", SourceID: gh.ID, ProviderEventID: "d-0", Body: []byte("{}"),
				Headers: json.RawMessage(`{}`), ReceivedAt: base.Add(time.Hour)})
			if err != nil || !inserted {
				return fmt.Errorf("re-insert after purge: %v %v", inserted, err)
			}
			return nil
		})

		// Deleting a source takes its events and rejections, no one else's.
		write(func(sc *store.Scope) error { return sourceDelete(ctx, sc, gh.ID) })
		if got := all(50, EventFilter{}); !slices.Equal(got, newestFirst(3, 5, 7, 9)) {
			t.Fatalf("after deleting gh: %v", got)
		}
		if n := storetest.Count(t, db, "webhook_rejections"); n != 1 {
			t.Fatalf("%d rejections left, want shop's 1", n)
		}
	}, Migrations())
}
