package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/notify"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// eventCounts counts an event's notifications, distinct recipients and
// deliveries, and the feed entries of its notifications.
func eventCounts(t *testing.T, env *apptest.Env, eventID string) (notes, distinct, deliveries, feed int) {
	t.Helper()
	err := env.App.DB.Read(context.Background(), func(tx *store.Tx) error {
		if err := tx.QueryRow(context.Background(), `SELECT COUNT(*), COUNT(DISTINCT contact_id) FROM notifications WHERE event_id = ?`, eventID).
			Scan(&notes, &distinct); err != nil {
			return err
		}
		if err := tx.QueryRow(context.Background(), `SELECT COUNT(*) FROM notification_deliveries WHERE notification_id IN
			(SELECT id FROM notifications WHERE event_id = ?)`, eventID).Scan(&deliveries); err != nil {
			return err
		}
		return tx.QueryRow(context.Background(), `SELECT COUNT(*) FROM feed_log WHERE notification_id IN
			(SELECT id FROM notifications WHERE event_id = ?)`, eventID).Scan(&feed)
	})
	if err != nil {
		t.Fatal(err)
	}
	return
}

// TestFanoutTenThousand: one event to 10,000 inline recipients creates
// their contacts and exactly one notification each, in chunks; a second
// event to the same 10,000 by id is timed (logged, not asserted); a third
// is fanned out by hand in chunks of 1,000 failing after two chunks, as a
// crash would, then run again: it resumes and still makes exactly one
// notification (two deliveries, one feed entry) per recipient, and
// running it once done changes nothing; a fourth is fanned out by two
// runs at once, with the same result.
func TestFanoutTenThousand(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 recipients")
	}
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn := newTenant(t, env, "acme")
		c := newCaller(t, env, "acme")
		c.do(t, "PUT", "/v1/notification-types/deploy.done", `{"channels":{"in_app":{"title":"Deployed {{.data.v}}","body":"Hi {{.contact.name}}"},
			"push":{"title":"Deployed"}}}`).must(t, http.StatusCreated, "type")
		const n = 10000
		inline := make([]wire.NotifyRecipient, n)
		ids := make([]string, n)
		for i := range inline {
			ids[i] = fmt.Sprintf("user-%05d", i)
			name := fmt.Sprintf("User %d", i)
			inline[i] = wire.NotifyRecipient{ID: ids[i], Name: &name}
		}
		post := func(recips any, v int) wire.NotifyEvent {
			t.Helper()
			b, _ := json.Marshal(map[string]any{"type": "deploy.done", "recipients": recips, "data": map[string]any{"v": v}})
			var ev wire.NotifyEvent
			c.do(t, "POST", "/v1/events", b).must(t, http.StatusAccepted, "post").json(t, &ev)
			return ev
		}
		check := func(ev wire.NotifyEvent) {
			t.Helper()
			got := eventDone(t, c, ev.ID)
			notes, distinct, dels, feed := eventCounts(t, env, ev.ID)
			if got.Notified != n || got.Skipped != 0 || notes != n || distinct != n || dels != 2*n || feed != n {
				t.Fatalf("event %s: notified %d skipped %d; %d notifications, %d recipients, %d deliveries, %d feed entries",
					ev.ID, got.Notified, got.Skipped, notes, distinct, dels, feed)
			}
		}
		start := time.Now()
		ev1 := post(inline, 1)
		eventDone(t, c, ev1.ID)
		t.Logf("%s: 10,000 inline recipients (contacts created) fanned out in %s", env.Dialect, time.Since(start))
		check(ev1)
		if got := env.Count(t, "contacts"); got != n {
			t.Fatalf("%d contacts", got)
		}
		start = time.Now()
		ev2 := post(ids, 2)
		eventDone(t, c, ev2.ID)
		t.Logf("%s: 10,000 recipients by id: every notification and delivery stored %s after the POST", env.Dialect, time.Since(start))
		check(ev2)

		// A crash mid-way: the fan-out fails after two chunks of 1,000 with
		// those committed; run again, it resumes at 2,000.
		ev3, err := env.App.Notify.EventWithoutJobForTest(ctx, tn.ID, "deploy.done", ids)
		if err != nil {
			t.Fatal(err)
		}
		if err := env.App.Notify.FanoutForTest(ctx, tn.ID, ev3, 1000, 2); err == nil || !strings.Contains(err.Error(), "after 2 chunks") {
			t.Fatalf("the fan-out did not fail after 2 chunks: %v", err)
		}
		var mid wire.NotifyEvent
		c.do(t, "GET", "/v1/events/"+ev3, nil).must(t, http.StatusOK, "event").json(t, &mid)
		if notes, _, _, _ := eventCounts(t, env, ev3); mid.Status != "fanning_out" || mid.Notified != 2000 || notes != 2000 {
			t.Fatalf("after the crash: %+v, %d notifications", mid, notes)
		}
		resumed := time.Now()
		if err := env.App.Notify.FanoutForTest(ctx, tn.ID, ev3, 1000, 0); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: the other 8,000 fanned out by hand in %s", env.Dialect, time.Since(resumed))
		check(wire.NotifyEvent{ID: ev3})
		if err := env.App.Notify.FanoutForTest(ctx, tn.ID, ev3, 1000, 0); err != nil {
			t.Fatal(err)
		}
		check(wire.NotifyEvent{ID: ev3})
		// Two runs of one event at once (a job and its rescue on another
		// node): whichever commits a chunk first wins it; exactly one
		// notification per recipient.
		ev4, err := env.App.Notify.EventWithoutJobForTest(ctx, tn.ID, "deploy.done", ids)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 5 { // a run that lost a chunk retries, as its job would
					if err := env.App.Notify.FanoutForTest(ctx, tn.ID, ev4, 500, 0); err == nil {
						return
					}
				}
			}()
		}
		wg.Wait()
		check(wire.NotifyEvent{ID: ev4})
		// Each contact's feed has one entry per event, numbered 1 to 4.
		var bad int
		err = env.App.DB.Read(ctx, func(tx *store.Tx) error {
			return tx.QueryRow(ctx, `SELECT COUNT(*) FROM feed_sequences WHERE tenant_id = ? AND seq <> 4`, tn.ID).Scan(&bad)
		})
		if err != nil || bad != 0 {
			t.Fatalf("%d feed sequences not at 3 (%v)", bad, err)
		}
	})
}

// TestFanoutDuplicatesAcrossChunks: a recipient given again in a later
// chunk is skipped as a duplicate, whether the earlier chunk committed in
// this run or in one that crashed before it; each contact gets one
// notification and the skips are recorded with their reason, one row per
// recipient (an unknown one given twice in a chunk too).
func TestFanoutDuplicatesAcrossChunks(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn := newTenant(t, env, "acme")
		c := newCaller(t, env, "acme")
		c.do(t, "PUT", "/v1/notification-types/deploy.done", `{"channels":{"in_app":{"title":"Deployed {{.data.v}}"}}}`).
			must(t, http.StatusCreated, "type")
		for _, id := range []string{"a", "b", "c"} {
			c.do(t, "PUT", "/v1/contacts/"+id, `{"name":"`+id+`"}`).must(t, http.StatusCreated, "contact")
		}
		ids := []string{"a", "b", "a", "c", "b", "a", "zz", "zz", "c"} // chunks [a b] [a c] [b a] [zz zz] [c]
		for _, crash := range []int{0, 1, 2} {
			ev, err := env.App.Notify.EventWithoutJobForTest(ctx, tn.ID, "deploy.done", ids)
			if err != nil {
				t.Fatal(err)
			}
			if crash > 0 {
				if err := env.App.Notify.FanoutForTest(ctx, tn.ID, ev, 2, crash); err == nil {
					t.Fatalf("crash after %d chunks: no error", crash)
				}
			}
			if err := env.App.Notify.FanoutForTest(ctx, tn.ID, ev, 2, 0); err != nil {
				t.Fatal(err)
			}
			var got wire.NotifyEvent
			c.do(t, "GET", "/v1/events/"+ev, nil).must(t, http.StatusOK, "event").json(t, &got)
			notes, distinct, dels, feed := eventCounts(t, env, ev)
			if got.Status != "done" || got.Notified != 3 || got.Skipped != 6 || len(got.Skips) != 4 || notes != 3 || distinct != 3 || dels != 3 || feed != 3 {
				t.Fatalf("crash after %d chunks: %+v; %d notifications, %d contacts, %d deliveries, %d feed entries", crash, got, notes, distinct, dels, feed)
			}
			for _, s := range got.Skips {
				if want := map[bool]string{true: "unknown_contact", false: "duplicate_recipient"}[s.Recipient == "zz"]; s.Reason != want {
					t.Fatalf("crash after %d chunks: skip %+v", crash, s)
				}
			}
		}
	})
}

// TestByKeys: the fan-out's lookup by a list of keys (an IN list on
// SQLite, an array probed key by key on PostgreSQL) finds each key's row
// of the tenant once, whatever the repeats, skips unknown keys and other
// tenants' rows, and applies its extra condition.
func TestByKeys(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		acme := newTenant(t, env, "acme")
		newTenant(t, env, "other")
		for _, tc := range []struct{ tenant, id, email string }{{"acme", "a", "a@x.example"}, {"acme", "b", "b@y.example"},
			{"acme", "c", "c@x.example"}, {"other", "d", "d@x.example"}} {
			newCaller(t, env, tc.tenant).do(t, "PUT", "/v1/contacts/"+tc.id, `{"email":"`+tc.email+`"}`).must(t, http.StatusCreated, "contact")
		}
		look := func(keys []string, cond string, args ...any) string {
			var got []string
			err := env.App.DB.Read(ctx, func(tx *store.Tx) error {
				rows, err := notify.ByKeysForTest(ctx, tx, "external_id, email", "contacts", "external_id", acme.ID, keys, cond, args...)
				for _, r := range rows {
					got = append(got, r[0]+"="+r[1])
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			sort.Strings(got)
			return strings.Join(got, " ")
		}
		if got := look([]string{"c", "a", "zz", "a", "d", "c"}, ""); got != "a=a@x.example c=c@x.example" {
			t.Fatalf("by keys: %s", got)
		}
		if got := look([]string{"a", "b", "c"}, "email LIKE ?", "%@x.example"); got != "a=a@x.example c=c@x.example" {
			t.Fatalf("by keys with a condition: %s", got)
		}
		if got := look([]string{"zz"}, ""); got != "" {
			t.Fatalf("unknown key: %s", got)
		}
	})
}

// TestFanoutInlineRecipientsTwice: an inline recipient given twice in a
// chunk with different fields ends with the last ones, whether it existed
// (two contact.updated entries) or the fan-out creates it (created, then
// updated); the second is skipped as a duplicate.
func TestFanoutInlineRecipientsTwice(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		newTenant(t, env, "acme")
		c := newCaller(t, env, "acme")
		c.do(t, "PUT", "/v1/notification-types/deploy.done", `{"channels":{"in_app":{"title":"Hi {{.contact.name}}"}}}`).must(t, http.StatusCreated, "type")
		c.do(t, "PUT", "/v1/contacts/old", `{"name":"Old","email":"old@x.example"}`).must(t, http.StatusCreated, "contact")
		var ev wire.NotifyEvent
		c.do(t, "POST", "/v1/events", `{"type":"deploy.done","recipients":[{"id":"old","name":"Old 1"},{"id":"new","name":"New 1","email":"n@x.example"},
			{"id":"old","name":"Old 2","locale":"de"},{"id":"new","name":"New 2"},"old"]}`).must(t, http.StatusAccepted, "post").json(t, &ev)
		done := eventDone(t, c, ev.ID)
		if done.Notified != 2 || done.Skipped != 3 {
			t.Fatalf("event: %+v", done)
		}
		for id, want := range map[string]string{"old": "Old 2 old@x.example de", "new": "New 2 n@x.example "} {
			var ct wire.Contact
			c.do(t, "GET", "/v1/contacts/"+id, nil).must(t, http.StatusOK, "contact").json(t, &ct)
			if got := ct.Name + " " + ct.Email + " " + ct.Locale; got != want {
				t.Fatalf("contact %s: %q, want %q", id, got, want)
			}
		}
		for id, want := range map[string]string{"old": "contact.updated:name contact.updated:name, locale notification.created",
			"new": "contact.created contact.updated:name notification.created"} {
			var tl wire.List[wire.TimelineEntry]
			c.do(t, "GET", "/v1/contacts/"+id+"/timeline", nil).must(t, http.StatusOK, "timeline").json(t, &tl)
			var kinds []string
			for _, e := range tl.Data {
				k := e.Kind
				if s, ok := strings.CutPrefix(e.Summary, "Contact updated: "); ok {
					k += ":" + s
				}
				if e.Kind != "contact.created" || id == "new" {
					kinds = append(kinds, k)
				}
			}
			sort.Strings(kinds)
			if got := strings.Join(kinds, " "); got != want {
				t.Fatalf("timeline of %s: %s, want %s", id, got, want)
			}
		}
	})
}
