package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/store/storetest"
)

// TestWebhookEventInsertMany: a batch of events stored with multi-row
// inserts (more than one chunk of 100) keeps exactly one row per (source,
// provider event id): a key already stored, or repeated within the batch,
// is not inserted and comes back as the stored event; a same key on
// another source is another event.
func TestEventInsertMany(t *testing.T) {
	t.Parallel()
	now := func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tn := storetest.Tenant(t, db, "acme")
		var gh, shop SourceRecord
		err := db.Write(ctx, func(tx *store.Tx) error {
			sc := tx.Tenant(tn.ID)
			var err error
			mk := func(name string) SourceRecord {
				if err != nil {
					return SourceRecord{}
				}
				var src SourceRecord
				src, _, err = sourcePut(ctx, sc, SourceRecord{ID: store.NewID("whs"), Name: name, Provider: "github",
					Config: json.RawMessage(`{}`), CreatedAt: now(), UpdatedAt: now()})
				return src
			}
			gh, shop = mk("gh"), mk("shop")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		ev := func(src SourceRecord, key string) Event {
			return Event{ID: store.NewID("evt"), SourceID: src.ID, ProviderEventID: key, EventType: "push",
				ContentType: "application/json", Headers: json.RawMessage(`{}`), Body: []byte(`{"k":"` + key + `"}`),
				Verification: "{}", ReceivedAt: now()}
		}
		stored := ev(gh, "d-007")
		if err := db.Write(ctx, func(tx *store.Tx) error {
			_, _, err := eventInsert(ctx, tx.Tenant(tn.ID), stored)
			return err
		}); err != nil {
			t.Fatal(err)
		}

		var batch []Event
		for i := range 150 {
			batch = append(batch, ev(gh, fmt.Sprintf("d-%03d", 149-i))) // reverse key order; includes d-007
		}
		batch = append(batch, ev(gh, "d-042"), ev(shop, "d-042"), ev(gh, "d-150"))
		ids := make([]string, len(batch))
		for i, e := range batch {
			ids[i] = e.ID
		}
		var inserted []bool
		if err := db.Write(ctx, func(tx *store.Tx) error {
			var err error
			inserted, err = eventInsertMany(ctx, tx.Tenant(tn.ID), batch)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for i, e := range batch {
			want := true
			switch {
			case e.SourceID == gh.ID && e.ProviderEventID == "d-007":
				want = false
				if e.ID != stored.ID {
					t.Errorf("the stored d-007 came back as %s, want %s", e.ID, stored.ID)
				}
			case i == 150: // the second d-042 of gh in the batch
				want = false
				if e.ID == ids[i] || e.ID != ids[149-42] {
					t.Errorf("the repeated d-042 came back as %s, want the batch's first one %s", e.ID, ids[149-42])
				}
			}
			if inserted[i] != want {
				t.Errorf("event %d (%s on %s): inserted %v, want %v", i, e.ProviderEventID, e.SourceID, inserted[i], want)
			}
			if e.TenantID != tn.ID {
				t.Errorf("event %d: tenant %q", i, e.TenantID)
			}
		}
		// 150 keys d-000..d-149 (d-007 stored before), d-150, and d-042 of shop.
		if n := storetest.Count(t, db, "webhook_events"); n != 152 {
			t.Fatalf("%d events stored, want 152", n)
		}
	}, Migrations())
}
