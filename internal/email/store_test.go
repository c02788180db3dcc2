package email

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/store/storetest"
)

// The email system's own SQL, on both stores.

var base = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func ids(es []Email) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func TestEmailStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b := storetest.Tenant(t, db, "acme").ID, storetest.Tenant(t, db, "bravo").ID
		mk := func(id string, minute int, to []string, tags []string, status string) Email {
			at := base.Add(time.Duration(minute) * time.Minute)
			return Email{ID: id, From: "Acme <hello@acme.example>", To: to, Cc: []string{}, Bcc: []string{"Audit@Acme.example"},
				ReplyTo: []string{}, Subject: "Hi " + id, Text: "hello", Headers: map[string]string{"X-Campaign": "c1"},
				Attachments: []Attachment{{Filename: "a.txt", ContentType: "text/plain", Content: []byte("\x00bin\xff")}},
				Tags:        tags, Metadata: json.RawMessage(`{"order":7}`), Category: CategoryTransactional, Status: status,
				MessageID: id + "@acme.example", IdempotencyKey: "send:" + id, CorrelationID: "cor_" + id, CreatedAt: at, UpdatedAt: at}
		}
		inA := []Email{
			mk("em_01", 1, []string{"Ana <ana@x.example>"}, []string{"welcome"}, StatusQueued),
			mk("em_02", 2, []string{"bob@x.example"}, []string{"receipt", "welcome"}, StatusSent),
			mk("em_03", 3, []string{"ANA@x.example", "cy@x.example"}, []string{}, StatusSent),
		}
		err := db.Write(ctx, func(tx *store.Tx) error {
			for _, e := range inA {
				if err := (scope{tx.Tenant(a)}).emailInsert(ctx, e); err != nil {
					return err
				}
			}
			if err := (scope{tx.Tenant(a)}).eventInsert(ctx, Event{EmailID: "em_02", Type: "queued", CreatedAt: base}); err != nil {
				return err
			}
			return scope{tx.Tenant(b)}.emailInsert(ctx, mk("em_b1", 1, []string{"ana@x.example"}, []string{"welcome"}, StatusQueued))
		})
		if err != nil {
			t.Fatal(err)
		}
		list := func(tenant string, f Filter, limit int) []Email {
			t.Helper()
			var out []Email
			p := store.Page{Limit: limit, List: "test"}
			for {
				var page []Email
				var next string
				err := db.Read(ctx, func(tx *store.Tx) error {
					var err error
					page, next, err = scope{tx.Tenant(tenant)}.emailList(ctx, p, f)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, page...)
				if next == "" {
					return out
				}
				p.Cursor = next
			}
		}
		for _, c := range []struct {
			name string
			f    Filter
			want []string
		}{
			{"all, newest first, paged by 2", Filter{}, []string{"em_03", "em_02", "em_01"}},
			{"to, any case, each address once", Filter{To: "ana@X.example"}, []string{"em_03", "em_01"}},
			{"bcc counts as to", Filter{To: "audit@acme.example"}, []string{"em_03", "em_02", "em_01"}},
			{"status", Filter{Statuses: []string{StatusSent}}, []string{"em_03", "em_02"}},
			{"statuses", Filter{Statuses: []string{StatusFailed, StatusQueued}}, []string{"em_01"}},
			{"tag", Filter{Tag: "welcome"}, []string{"em_02", "em_01"}},
			{"since and until", Filter{Since: base.Add(2 * time.Minute), Until: base.Add(3 * time.Minute)}, []string{"em_02"}},
			{"search in subject", Filter{Query: "HI EM_0"}, []string{"em_03", "em_02", "em_01"}},
			{"search in a recipient", Filter{Query: "cy@"}, []string{"em_03"}},
			{"search with LIKE wildcards is literal", Filter{Query: "%"}, []string{}},
		} {
			if got := ids(list(a, c.f, 2)); !slices.Equal(got, c.want) {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
			}
		}
		if got := ids(list(b, Filter{}, 10)); !slices.Equal(got, []string{"em_b1"}) {
			t.Fatalf("B sees %v", got)
		}
		err = db.Read(ctx, func(tx *store.Tx) error {
			q := scope{tx.Tenant(a)}
			e, err := q.emailGet(ctx, "em_02")
			if err != nil {
				return err
			}
			if e.Headers["X-Campaign"] != "c1" || string(e.Attachments[0].Content) != "\x00bin\xff" || !slices.Equal(e.Tags, []string{"receipt", "welcome"}) ||
				!e.CreatedAt.Equal(base.Add(2*time.Minute)) || e.SentAt != nil || e.Bcc[0] != "Audit@Acme.example" {
				t.Errorf("round trip: %+v", e)
			}
			if k, err := q.emailGetByKey(ctx, "send:em_03"); err != nil || k.ID != "em_03" {
				t.Errorf("by key: %v %v", k.ID, err)
			}
			if _, err := q.emailGet(ctx, "em_b1"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("A reads B's email: %v", err)
			}
			evs, err := q.eventList(ctx, "em_02")
			if err != nil || len(evs) != 1 || evs[0].Type != "queued" {
				t.Errorf("events: %+v %v", evs, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// The idempotency key is unique per tenant, never across tenants.
		err = db.Write(ctx, func(tx *store.Tx) error {
			e := mk("em_04", 4, []string{"x@x.example"}, nil, StatusQueued)
			e.IdempotencyKey = "send:em_01"
			return scope{tx.Tenant(a)}.emailInsert(ctx, e)
		})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second email with one key: %v", err)
		}
		sent := base.Add(time.Hour)
		err = db.Write(ctx, func(tx *store.Tx) error {
			e := inA[0]
			e.Status, e.Provider, e.ProviderID, e.SentAt, e.UpdatedAt = StatusSent, "smtp", "q1", &sent, sent
			if err := (scope{tx.Tenant(b)}).emailFinish(ctx, e); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("B finished A's email: %v", err)
			}
			return scope{tx.Tenant(a)}.emailFinish(ctx, e)
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := list(a, Filter{Statuses: []string{StatusSent}}, 10); len(got) != 3 || got[2].SentAt == nil || !got[2].SentAt.Equal(sent) || got[2].ProviderID != "q1" {
			t.Fatalf("after finish: %+v", got)
		}
	}, Migrations())
}
