package webhook_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/admin/admintest"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/webhook"
	"github.com/joist-dev/joist/internal/webhook/webhooktest"
)

func eventOf(t *testing.T, env *apptest.Env, tenantID, id string) webhook.Event {
	t.Helper()
	ev, err := env.App.Webhooks.GetEvent(context.Background(), admintest.CLI(), tenantID, id)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestWebhooksPagesViewerSeesButCannotReplay(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		tn := admintest.MkTenant(t, env, "acme")
		rc := webhooktest.NewReceiver(t, http.StatusGone)
		src := webhooktest.MkSource(t, env, tn.ID, "github", rc.URL+"/hooks")
		dead := webhooktest.MkEvent(t, env, tn, "github", "d-1", `{"ref":"refs/heads/main"}`, "dead")
		if st := webhooktest.Deliver(t, env, "acme", "github", "d-bad", `{}`, "the wrong secret"); st == http.StatusOK {
			t.Fatal("a badly signed delivery was accepted")
		}
		admintest.MkOperator(t, env, "vera@example.com", auth.RoleViewer)

		owner := admintest.NewClient(t, env)
		owner.LoginOwner()
		admintest.Want(t, "tenant page links to webhooks", owner.Get("/admin/tenants/acme"), http.StatusOK, `href="/admin/tenants/acme/webhooks"`)
		admintest.Want(t, "sources", owner.Get("/admin/tenants/acme/webhooks"), http.StatusOK,
			src.IngestURL, `data-copy="ingest-0"`, rc.URL+"/hooks", "a github...", "/admin/tenants/acme/webhooks/github/rejections")
		admintest.Want(t, "dead letters", owner.Get("/admin/tenants/acme/webhooks/events?status=dead"), http.StatusOK,
			dead.ID, `id="status-dead" aria-current="page"`, `id="replay-many"`)
		admintest.Want(t, "search by provider event id", owner.Get("/admin/tenants/acme/webhooks/events?id=d-1"), http.StatusOK, dead.ID)
		if r := owner.Get("/admin/tenants/acme/webhooks/events?id=nope"); !strings.Contains(r.Body, "No event matches.") {
			t.Fatalf("search for an unknown id:\n%s", r.Body)
		}
		admintest.Want(t, "unknown status", owner.Get("/admin/tenants/acme/webhooks/events?status=bogus"), http.StatusBadRequest, "is not one of")
		admintest.Want(t, "event", owner.Get("/admin/tenants/acme/webhooks/events/"+dead.ID), http.StatusOK,
			`id="event-replay"`, "X-Github-Delivery", "refs/heads/main", "github signature verified", "receiver says Gone",
			`href="/admin/tenants/acme/jobs/`+dead.ForwardJobID+`"`)
		admintest.Want(t, "unknown event", owner.Get("/admin/tenants/acme/webhooks/events/evt_nope"), http.StatusNotFound)
		admintest.Want(t, "rejections", owner.Get("/admin/tenants/acme/webhooks/github/rejections"), http.StatusOK, "d-bad", "bytes")
		admintest.Want(t, "unknown source", owner.Get("/admin/tenants/acme/webhooks/nope/rejections"), http.StatusNotFound)
		admintest.Want(t, "no such page", owner.Get("/admin/tenants/acme/webhooks/github/nope"), http.StatusNotFound)

		v := admintest.NewClient(t, env)
		v.Login("vera@example.com", admintest.Password)
		list := v.Get("/admin/tenants/acme/webhooks/events?status=dead")
		admintest.Want(t, "viewer's list", list, http.StatusOK, dead.ID)
		page := v.Get("/admin/tenants/acme/webhooks/events/" + dead.ID)
		admintest.Want(t, "viewer's event page", page, http.StatusOK, "refs/heads/main", `id="attempts"`)
		if strings.Contains(list.Body, `id="replay-many"`) || strings.Contains(page.Body, `id="event-replay"`) {
			t.Fatal("the viewer sees a replay form")
		}

		// With a valid session and CSRF token, the server still refuses.
		tok := v.CSRF("/admin/tenants/acme/webhooks/events/" + dead.ID)
		audits, calls := env.Count(t, "audit_log"), len(rc.WebhookIDs())
		for _, path := range []string{"/webhooks/events/" + dead.ID + "/replay", "/webhooks/events/replay"} {
			admintest.Want(t, "viewer POST "+path, v.Post("/admin/tenants/acme"+path, url.Values{"csrf": {tok}, "status": {"dead"}}),
				http.StatusForbidden, "jobs.write")
		}
		time.Sleep(100 * time.Millisecond) // a wrongly queued replay would have started by now
		if ev := eventOf(t, env, tn.ID, dead.ID); ev.Status != "dead" || ev.ForwardJobID != dead.ForwardJobID {
			t.Fatalf("after the viewer's refused replay the event is %s with job %s", ev.Status, ev.ForwardJobID)
		}
		if n := env.Count(t, "audit_log"); n != audits {
			t.Fatalf("audit_log %d -> %d after refused posts", audits, n)
		}
		if n := len(rc.WebhookIDs()); n != calls {
			t.Fatalf("receiver called %d times, want %d", n, calls)
		}
	})
}

func TestWebhooksPagesTenantScope(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		alpha := admintest.MkTenant(t, env, "alpha")
		bravo := admintest.MkTenant(t, env, "bravo")
		rc := webhooktest.NewReceiver(t, http.StatusGone)
		webhooktest.MkSource(t, env, alpha.ID, "github", rc.URL)
		webhooktest.MkSource(t, env, bravo.ID, "github", rc.URL)
		theirs := webhooktest.MkEvent(t, env, bravo, "github", "b-1", `{"secret":"bravo's"}`, "dead")
		admintest.MkOperator(t, env, "sam@example.com", auth.RoleSupport, alpha.ID)

		sam := admintest.NewClient(t, env)
		sam.Login("sam@example.com", admintest.Password)
		admintest.Want(t, "own tenant's events", sam.Get("/admin/tenants/alpha/webhooks/events"), http.StatusOK, "No event matches.")
		tok := sam.CSRF("/admin/tenants/alpha/webhooks/events?status=dead")
		for _, path := range []string{
			"/admin/tenants/bravo/webhooks",
			"/admin/tenants/bravo/webhooks/events",
			"/admin/tenants/bravo/webhooks/events/" + theirs.ID,
			"/admin/tenants/" + bravo.ID + "/webhooks/events/" + theirs.ID,
			"/admin/tenants/alpha/webhooks/events/" + theirs.ID, // own tenant in the path, other tenant's event
			"/admin/tenants/bravo/webhooks/github/rejections",
		} {
			r := sam.Get(path)
			admintest.Want(t, "GET "+path, r, http.StatusNotFound)
			if strings.Contains(r.Body, "bravo's") {
				t.Fatalf("GET %s shows the other tenant's event", path)
			}
		}
		audits := env.Count(t, "audit_log")
		for _, path := range []string{
			"/admin/tenants/bravo/webhooks/events/" + theirs.ID + "/replay",
			"/admin/tenants/alpha/webhooks/events/" + theirs.ID + "/replay",
			"/admin/tenants/bravo/webhooks/events/replay",
		} {
			admintest.Want(t, "POST "+path, sam.Post(path, url.Values{"csrf": {tok}}), http.StatusNotFound)
		}
		// Own tenant's bulk replay does not reach bravo's event.
		r := sam.Post("/admin/tenants/alpha/webhooks/events/replay", url.Values{"csrf": {tok}, "status": {"dead"}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("own bulk replay: %d\n%s", r.Status, r.Body)
		}
		if ev := eventOf(t, env, bravo.ID, theirs.ID); ev.Status != "dead" || ev.ForwardJobID != theirs.ForwardJobID {
			t.Fatalf("bravo's event is %s with job %s after refused posts", ev.Status, ev.ForwardJobID)
		}
		if n := env.Count(t, "audit_log"); n != audits {
			t.Fatalf("audit_log %d -> %d after refused posts", audits, n)
		}
	})
}

func TestWebhooksReplay(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		tn := admintest.MkTenant(t, env, "acme")
		rc := webhooktest.NewReceiver(t, http.StatusGone)
		webhooktest.MkSource(t, env, tn.ID, "github", rc.URL+"/hooks")
		webhooktest.MkSource(t, env, tn.ID, "quiet", "") // stored only: bulk replay skips it
		one := webhooktest.MkEvent(t, env, tn, "github", "r-1", `{"n":1}`, "dead")
		two := webhooktest.MkEvent(t, env, tn, "github", "r-2", `{"n":2}`, "dead")
		kept := webhooktest.MkEvent(t, env, tn, "quiet", "q-1", `{"n":3}`, "stored")
		if ids := rc.WebhookIDs(); len(ids) != 2 || ids[0] != one.ID || ids[1] != two.ID {
			t.Fatalf("first deliveries carried webhook-ids %v, want [%s %s]", ids, one.ID, two.ID)
		}
		rc.Status.Store(http.StatusOK)

		owner := admintest.NewClient(t, env)
		owner.LoginOwner()
		tok := owner.CSRF("/admin/tenants/acme/webhooks/events/" + one.ID)
		r := owner.Post("/admin/tenants/acme/webhooks/events/"+one.ID+"/replay", url.Values{"csrf": {tok}})
		if r.Status != http.StatusSeeOther || r.Location != "/admin/tenants/acme/webhooks/events/"+one.ID+"?flash=webhook_replayed" {
			t.Fatalf("replay: %d to %q\n%s", r.Status, r.Location, r.Body)
		}
		admintest.Want(t, "after replay", owner.Get(r.Location), http.StatusOK, "queued for delivery again")
		ev := webhooktest.WaitEvent(t, env, tn.ID, one.ID, "delivered")
		if ev.ForwardJobID == one.ForwardJobID {
			t.Fatal("the replay did not create a new forward job")
		}
		if ids := rc.WebhookIDs(); len(ids) != 3 || ids[2] != one.ID {
			t.Fatalf("webhook-ids %v: the replay must carry %s again", ids, one.ID)
		}
		if got := admintest.AuditTargets(t, env, "webhook_event.replay"); !slices.Equal(got, []string{one.ID}) {
			t.Fatalf("webhook_event.replay entries for %v, want [%s]", got, one.ID)
		}
		admintest.Want(t, "delivered event", owner.Get("/admin/tenants/acme/webhooks/events/"+one.ID), http.StatusOK,
			`id="event-status">delivered<`, "receiver says OK", ev.ForwardJobID)

		// Replay all matching: everything; the stored-only source is skipped.
		r = owner.Post("/admin/tenants/acme/webhooks/events/replay", url.Values{"csrf": {tok}, "type": {"push"}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("bulk replay: %d\n%s", r.Status, r.Body)
		}
		admintest.Want(t, "after bulk replay", owner.Get(r.Location), http.StatusOK, "2 events were queued", "1 was left alone")
		webhooktest.WaitEvent(t, env, tn.ID, one.ID, "delivered")
		webhooktest.WaitEvent(t, env, tn.ID, two.ID, "delivered")
		if ev := eventOf(t, env, tn.ID, kept.ID); ev.Status != "stored" || ev.ForwardJobID != "" {
			t.Fatalf("the stored-only event is %s with job %q", ev.Status, ev.ForwardJobID)
		}
		got := admintest.AuditTargets(t, env, "webhook_event.replay")
		exp := []string{one.ID, one.ID, two.ID}
		slices.Sort(exp)
		if !slices.Equal(got, exp) {
			t.Fatalf("webhook_event.replay entries for %v, want %v", got, exp)
		}
		// Replaying a stored-only event says why it cannot.
		admintest.Want(t, "replay without a forward URL", owner.Post("/admin/tenants/acme/webhooks/events/"+kept.ID+"/replay",
			url.Values{"csrf": {tok}}), http.StatusBadRequest, "no forward_url")
	})
}

// TestInstancePages: an operator who reaches every tenant finds the
// instance's sources and jobs from the tenants page; the instance shows no
// contacts and no keys, and no key can be made for it; an operator scoped
// to some tenants never reaches it.
func TestInstancePages(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		acme := admintest.MkTenant(t, env, "acme")
		webhooktest.MkSource(t, env, store.InstanceTenantID, "stripe-all", "")
		c := admintest.NewClient(t, env)
		c.LoginOwner()
		admintest.Want(t, "tenants", c.Get("/admin/tenants"), 200, `href="/admin/tenants/_"`)
		r := c.Get("/admin/tenants/_")
		admintest.Want(t, "instance", r, 200, "<h1>Instance", `href="/admin/tenants/_/webhooks"`, `href="/admin/tenants/_/jobs"`)
		if strings.Contains(r.Body, "key-create") || strings.Contains(r.Body, "contact-q") {
			t.Fatalf("the instance page offers keys or contacts:\n%s", r.Body)
		}
		admintest.Want(t, "instance sources", c.Get("/admin/tenants/_/webhooks"), 200, "stripe-all", "/in/_/stripe-all")
		admintest.Want(t, "instance jobs", c.Get("/admin/tenants/_/jobs"), 200, `id="job-counts"`)
		admintest.Want(t, "no routes", c.Get("/admin/tenants/_"), 200, "No customer routed yet.")
		if _, _, err := env.App.Billing.RouteCustomer(context.Background(), admintest.CLI(), "cus_routed", "acme", ""); err != nil {
			t.Fatal(err)
		}
		admintest.Want(t, "routes", c.Get("/admin/tenants/_"), 200, "<code>cus_routed</code>", `<a href="/admin/tenants/acme">acme</a>`, "<td>API</td>")
		r = c.Post("/admin/tenants/_/keys", url.Values{"csrf": {c.CSRF("/admin/tenants")}, "name": {"sneaky"}})
		admintest.Want(t, "a key for the instance", r, http.StatusBadRequest, "the instance has no API keys")
		if n := env.Count(t, "api_keys"); n != 0 {
			t.Fatalf("%d keys stored", n)
		}

		admintest.MkOperator(t, env, "scoped@example.com", auth.RoleOwner, acme.ID)
		s := admintest.NewClient(t, env)
		s.Login("scoped@example.com", admintest.Password)
		r = s.Get("/admin/tenants")
		admintest.Want(t, "scoped tenants", r, 200, "acme")
		if strings.Contains(r.Body, "/admin/tenants/_") {
			t.Fatal("a scoped operator is shown the instance")
		}
		admintest.Want(t, "scoped instance", s.Get("/admin/tenants/_"), 404)
		admintest.Want(t, "scoped instance sources", s.Get("/admin/tenants/_/webhooks"), 404)
	})
}
