package notify_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// TestPushBatch: an event's push deliveries go out through one
// notify_push_batch job for the fan-out's chunk, on both stores. Each
// phone gets its push once; an unregistered phone's delivery fails
// (no_subscription, the device removed); a delivery whose send got a 503
// gets a notify_push job of its own and is sent by it. Run again, the
// batch job sends nothing: every delivery it had is finished.
func TestPushBatch(t *testing.T) {
	t.Parallel()
	svc := newPushServices(t)
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		p := startPush(t, env)
		acme, _ := p.tenantWithContact(t, "acme", "h0")
		c := newCaller(t, env, "acme")
		toks := map[string]string{}
		var names []string
		for i := range 6 {
			name := fmt.Sprint("h", i)
			names = append(names, `"`+name+`"`)
			toks[name] = svc.fcm.NewToken()
			c.do(t, "PUT", "/v1/contacts/"+name, `{"email":"`+name+`@example.com","name":"H`+fmt.Sprint(i)+`"}`).must(t, map[bool]int{true: http.StatusOK, false: http.StatusCreated}[i == 0], "contact")
			c.do(t, "POST", "/v1/contacts/"+name+"/devices", `{"platform":"fcm","token":"`+toks[name]+`"}`).must(t, http.StatusCreated, "device")
		}
		svc.fcm.Unregister(toks["h4"])
		svc.fcm.Reply(toks["h5"], http.StatusServiceUnavailable, "")
		c.do(t, "PUT", "/v1/notification-types/booking.created", pushType).must(t, http.StatusCreated, "type")
		var ev wire.NotifyEvent
		c.do(t, "POST", "/v1/events", `{"type":"booking.created","data":{"guest":"Ada","id":"bk_1","nights":2},"recipients":[`+strings.Join(names, ",")+`]}`,
			"Joist-Correlation-Id", "cor-batch").must(t, http.StatusAccepted, "event").json(t, &ev)
		eventDone(t, c, ev.ID)

		status := func() map[string]wire.NotificationDelivery {
			out := map[string]wire.NotificationDelivery{}
			for _, n := range notificationsOf(t, c, ev.ID) {
				out[n.Contact] = byChannel(n)["push"]
			}
			return out
		}
		waitFor(t, 60*time.Second, "every push delivery to finish", func() bool {
			for _, d := range status() {
				if d.Status == "queued" {
					return false
				}
			}
			return true
		})
		for name, d := range status() {
			switch name {
			case "h4":
				if d.Status != "failed" || !strings.HasPrefix(d.Detail, "no_subscription") {
					t.Fatalf("%s: %+v", name, d)
				}
			default:
				if d.Status != "sent" || d.Detail != "1 delivered, 0 removed, 0 to retry, 0 failed of 1 targets" {
					t.Fatalf("%s: %+v", name, d)
				}
			}
		}
		sentOnce := func() {
			t.Helper()
			got := map[string]int{}
			for _, m := range svc.fcm.Messages() {
				got[m.Token()]++
			}
			for name, tok := range toks {
				want := 1
				if name == "h4" {
					want = 0
				}
				if got[tok] != want {
					t.Fatalf("%s's phone got %d pushes, want %d", name, got[tok], want)
				}
			}
		}
		sentOnce()
		kinds := func(kind string) int {
			return countWhere(t, env, fmt.Sprintf(`SELECT COUNT(*) FROM jobs WHERE tenant_id = '%s' AND kind = '%s'`, acme.ID, kind))
		}
		if b, one := kinds("notify_push_batch"), kinds("notify_push"); b != 1 || one != 1 {
			t.Fatalf("jobs: %d notify_push_batch (want 1, the chunk's), %d notify_push (want 1, h5's retry)", b, one)
		}
		if n := countWhere(t, env, `SELECT COUNT(*) FROM timeline WHERE kind = 'notification.push.sent' AND correlation_id = 'cor-batch'`); n != 5 {
			t.Fatalf("%d push outcomes on the timeline, want 5", n)
		}

		// Run the batch job again: nothing is queued any more, nothing is sent.
		var jobID string
		if err := env.App.DB.Read(ctx, func(tx *store.Tx) error {
			return tx.QueryRow(ctx, `SELECT id FROM jobs WHERE tenant_id = ? AND kind = 'notify_push_batch'`, acme.ID).Scan(&jobID)
		}); err != nil {
			t.Fatal(err)
		}
		before := len(svc.fcm.Messages())
		if _, err := env.App.Jobs.Retry(ctx, pushRoot, acme.ID, jobID); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 30*time.Second, "the batch job to run again", func() bool {
			j, err := env.App.Jobs.Get(ctx, pushRoot, acme.ID, jobID)
			return err == nil && j.State == "completed" && j.Attempt >= 2
		})
		if after := len(svc.fcm.Messages()); after != before {
			t.Fatalf("the batch job run again sent %d pushes", after-before)
		}
		sentOnce()
	}, svc.configure(t))
}
