package golden_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/store"
)

// This test uses only what exists in the released version (3e3f61e) and
// after the restructuring: apptest.Start, apptest.Env{URL, RootKey}, the
// store.SQLite/store.Postgres dialect constants, and raw HTTP. Never the
// client package or the handlers' Go types: they move, the wire must not.

var update = flag.Bool("update", false, "rewrite testdata/*.golden from this run")

// TestGoldenSQLite is the reference: the golden files in testdata/ come from
// SQLite.
func TestGoldenSQLite(t *testing.T) {
	run(t, apptest.Start(t, store.SQLite), "testdata")
}

// TestGoldenPostgres runs the same scenario on PostgreSQL (skipped without
// JOIST_TEST_DATABASE_URL). PostgreSQL keeps JSON objects the caller sends
// (contact metadata, stored headers, audit summaries, subscription changes)
// as jsonb, which reorders keys and respaces them, so its bodies differ from
// SQLite's in those fields: it has its own golden files in
// testdata/postgres/.
func TestGoldenPostgres(t *testing.T) {
	run(t, apptest.Start(t, store.Postgres), filepath.Join("testdata", "postgres"))
}

// ---------------------------------------------------------------------------
// The scenario.

const (
	// A Standard Webhooks secret (the specification's example key).
	swSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	// A Stripe endpoint secret: the whole string is the HMAC key.
	stripeSecret = "whsec_golden_stripe_secret_0123456789"
)

// t0 is the Stripe events' created time: fixed, so the billing state's
// times (current period end, last event created) stay in the golden files
// instead of being normalised.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func run(t *testing.T, env *apptest.Env, dir string) {
	app := newReceiver(t)
	s := newScenario(t, env, dir, app)

	// Operational endpoints.
	s.step("healthz", call{method: "GET", path: "/healthz", auth: authNone})
	s.step("readyz", call{method: "GET", path: "/readyz", auth: authNone})

	// Tenants.
	acme := s.step("tenants_create", call{method: "POST", path: "/v1/tenants", body: `{"slug":"acme","name":"Acme Inc"}`})
	acmeID := acme.str("id")
	s.step("tenants_create_globex", call{method: "POST", path: "/v1/tenants", body: `{"slug":"globex","name":"Globex"}`})
	s.step("tenants_create_duplicate_slug", call{method: "POST", path: "/v1/tenants", body: `{"slug":"acme","name":"Acme again"}`})
	s.step("tenants_list", call{method: "GET", path: "/v1/tenants"})
	s.step("tenants_get_by_slug", call{method: "GET", path: "/v1/tenants/acme"})
	s.step("tenants_get_by_id", call{method: "GET", path: "/v1/tenants/" + acmeID})
	s.step("tenants_get_unknown", call{method: "GET", path: "/v1/tenants/nope"})

	// Keys: the secret is shown once; an idempotent replay answers without it.
	key := s.step("keys_create", call{method: "POST", path: "/v1/tenants/acme/keys", body: `{"name":"ci"}`,
		header: map[string]string{"Idempotency-Key": "golden-key-1"}})
	keyID, keySecret := key.str("id"), key.str("key")
	s.step("keys_create_replayed", call{method: "POST", path: "/v1/tenants/acme/keys", body: `{"name":"ci"}`,
		header: map[string]string{"Idempotency-Key": "golden-key-1"}})
	s.step("keys_create_idempotency_conflict", call{method: "POST", path: "/v1/tenants/acme/keys", body: `{"name":"other"}`,
		header: map[string]string{"Idempotency-Key": "golden-key-1"}})
	s.step("keys_list", call{method: "GET", path: "/v1/tenants/acme/keys"})
	s.step("keys_revoke", call{method: "DELETE", path: "/v1/tenants/acme/keys/" + keyID})
	s.step("keys_use_revoked", call{method: "GET", path: "/v1/contacts", auth: authBearer, bearer: keySecret})

	// Contacts.
	s.step("contacts_put_create", call{method: "PUT", path: "/v1/contacts/user_1", tenant: "acme",
		body: `{"email":"ann@example.com","name":"Ann Example","locale":"en","timezone":"Europe/Paris","metadata":{"plan":"pro","seats":3,"tags":["a","b"],"note":"<b>&amp;</b>"}}`})
	s.step("contacts_put_update", call{method: "PUT", path: "/v1/contacts/user_1", tenant: "acme", body: `{"name":"Ann Smith"}`})
	s.step("contacts_put_create_2", call{method: "PUT", path: "/v1/contacts/user_2", tenant: "acme",
		body: `{"email":"bob@example.com","name":"Bob Été"}`})
	s.step("contacts_get", call{method: "GET", path: "/v1/contacts/user_1", tenant: "acme"})
	s.step("contacts_get_unknown", call{method: "GET", path: "/v1/contacts/nobody", tenant: "acme"})
	s.step("contacts_list", call{method: "GET", path: "/v1/contacts", tenant: "acme"})
	s.step("contacts_list_q", call{method: "GET", path: "/v1/contacts?q=ANN", tenant: "acme"})
	s.step("contacts_list_q_none", call{method: "GET", path: "/v1/contacts?q=zzz", tenant: "acme"})
	page := s.step("contacts_list_page", call{method: "GET", path: "/v1/contacts?limit=1", tenant: "acme"})
	cursor := page.str("next_cursor")
	s.norm.literal("cursor="+cursor, "cursor=<cursor>")
	s.step("contacts_list_page_2", call{method: "GET", path: "/v1/contacts?limit=1&cursor=" + cursor, tenant: "acme"})

	// Signing secret (before any job runs, so it is created here).
	s.step("signing_secret_get", call{method: "GET", path: "/v1/signing-secret", tenant: "acme"})
	s.step("signing_secret_rotate", call{method: "POST", path: "/v1/signing-secret/rotate", tenant: "acme", body: `{"expire_old_in":"1h"}`})
	s.step("signing_secret_rotate_bad", call{method: "POST", path: "/v1/signing-secret/rotate", tenant: "acme", body: `{"expire_old_in":"soon"}`})

	// Jobs. Delayed an hour, so they stay scheduled until this scenario
	// changes them.
	jobURL := app.url + "/jobs/remind"
	j1 := s.step("jobs_create", call{method: "POST", path: "/v1/jobs", tenant: "acme",
		body: `{"url":"` + jobURL + `","body":{"booking":42},"delay":"1h","unique_key":"booking-42","max_attempts":3}`})
	job1 := j1.str("id")
	s.step("jobs_create_unique_key_deduplicated", call{method: "POST", path: "/v1/jobs", tenant: "acme",
		body: `{"url":"` + jobURL + `","body":{"booking":42},"delay":"1h","unique_key":"booking-42","max_attempts":3}`})
	s.step("jobs_create_idempotent", call{method: "POST", path: "/v1/jobs", tenant: "acme",
		header: map[string]string{"Idempotency-Key": "golden-job-2"},
		body:   `{"url":"` + jobURL + `","method":"PUT","headers":{"X-Trace":"t1"},"body":"plain text","content_type":"text/plain","priority":1,"delay":"2h","timeout":"10s"}`})
	s.step("jobs_create_idempotent_replayed", call{method: "POST", path: "/v1/jobs", tenant: "acme",
		header: map[string]string{"Idempotency-Key": "golden-job-2"},
		body:   `{"url":"` + jobURL + `","method":"PUT","headers":{"X-Trace":"t1"},"body":"plain text","content_type":"text/plain","priority":1,"delay":"2h","timeout":"10s"}`})
	s.step("jobs_create_invalid", call{method: "POST", path: "/v1/jobs", tenant: "acme", body: `{"url":"ftp://example.com/x","delay":"-1s"}`})
	s.step("jobs_create_unknown_queue", call{method: "POST", path: "/v1/jobs", tenant: "acme", body: `{"url":"` + jobURL + `","queue":"nope"}`})
	s.step("jobs_list_scheduled", call{method: "GET", path: "/v1/jobs?state=scheduled", tenant: "acme"})
	s.step("jobs_list_bad_state", call{method: "GET", path: "/v1/jobs?state=bogus", tenant: "acme"})
	s.step("jobs_get", call{method: "GET", path: "/v1/jobs/" + job1, tenant: "acme"})
	s.step("jobs_cancel", call{method: "POST", path: "/v1/jobs/" + job1 + "/cancel", tenant: "acme"})
	s.step("jobs_list_cancelled", call{method: "GET", path: "/v1/jobs?state=cancelled", tenant: "acme"})
	// A job whose URL answers 410 Gone once (then 200) is dead after its
	// first attempt; retried, it completes. Each is recorded only in its
	// final state (dead, then completed), awaited by polling; the attempts'
	// started_at and duration_ms are normalised. (Retrying the cancelled
	// job instead would race: River may still deliver the earlier cancel to
	// the retried run.)
	j3 := s.step("jobs_create_gone_once", call{method: "POST", path: "/v1/jobs", tenant: "acme",
		body: `{"url":"` + app.url + `/jobs/gone-once","body":{"n":3},"max_attempts":2}`})
	job3 := j3.str("id")
	s.waitJSON("job "+job3+" dead", call{method: "GET", path: "/v1/jobs/" + job3, tenant: "acme"}, func(v res) bool {
		return v.str("state") == "dead"
	})
	s.step("jobs_get_dead", call{method: "GET", path: "/v1/jobs/" + job3, tenant: "acme"})
	s.step("jobs_list_dead", call{method: "GET", path: "/v1/jobs?state=dead", tenant: "acme"})
	// Retry answers the job as made available (recorded as answered).
	s.step("jobs_retry", call{method: "POST", path: "/v1/jobs/" + job3 + "/retry", tenant: "acme"})
	s.waitJSON("job "+job3+" completed", call{method: "GET", path: "/v1/jobs/" + job3, tenant: "acme"}, func(v res) bool {
		return v.str("state") == "completed"
	})
	s.step("jobs_get_completed", call{method: "GET", path: "/v1/jobs/" + job3, tenant: "acme"})
	s.step("jobs_bulk_cancel_scheduled", call{method: "POST", path: "/v1/jobs/bulk", tenant: "acme", body: `{"action":"cancel","state":["scheduled"]}`})
	s.step("jobs_bulk_bad_action", call{method: "POST", path: "/v1/jobs/bulk", tenant: "acme", body: `{"action":"explode","state":["dead"]}`})
	s.step("jobs_bulk_no_state", call{method: "POST", path: "/v1/jobs/bulk", tenant: "acme", body: `{"action":"retry"}`})
	s.step("jobs_list_cancelled_after_bulk", call{method: "GET", path: "/v1/jobs?state=cancelled", tenant: "acme"})
	s.step("jobs_get_unknown", call{method: "GET", path: "/v1/jobs/job_doesnotexist", tenant: "acme"})
	s.step("jobs_cancel_completed", call{method: "POST", path: "/v1/jobs/" + job3 + "/cancel", tenant: "acme"})

	// Schedules. The cron fires once a year (1 January 04:15 Paris), so no
	// slot comes due while the scenario runs; next_run_at and next_runs
	// depend on today and are normalised.
	s.step("schedules_put_create", call{method: "PUT", path: "/v1/schedules/yearly-report", tenant: "acme",
		body: `{"cron":"15 4 1 1 *","timezone":"Europe/Paris","missed":"run_once","job":{"url":"` + jobURL + `","body":{"report":"yearly"}}}`})
	s.step("schedules_put_replace", call{method: "PUT", path: "/v1/schedules/yearly-report", tenant: "acme",
		body: `{"cron":"15 4 1 1 *","timezone":"Europe/Paris","missed":"run_once","job":{"url":"` + jobURL + `","method":"PUT","headers":{"X-Report":"y"},"body":{"report":"yearly","v":2},"queue":"default","priority":3,"max_attempts":5,"timeout":"20s"}}`})
	s.step("schedules_put_second", call{method: "PUT", path: "/v1/schedules/a-paused-one", tenant: "acme",
		body: `{"cron":"@every 1h30m","paused":true,"job":{"url":"` + jobURL + `"}}`})
	s.step("schedules_put_invalid", call{method: "PUT", path: "/v1/schedules/bad", tenant: "acme",
		body: `{"cron":"0 9 * * *","timezone":"Mars/Olympus","job":{"url":"` + jobURL + `"}}`})
	s.step("schedules_get", call{method: "GET", path: "/v1/schedules/yearly-report", tenant: "acme"})
	s.step("schedules_list", call{method: "GET", path: "/v1/schedules", tenant: "acme"})
	s.step("schedules_pause", call{method: "POST", path: "/v1/schedules/yearly-report/pause", tenant: "acme"})
	s.step("schedules_pause_again", call{method: "POST", path: "/v1/schedules/yearly-report/pause", tenant: "acme"})
	s.step("schedules_resume", call{method: "POST", path: "/v1/schedules/yearly-report/resume", tenant: "acme"})
	s.step("schedules_delete", call{method: "DELETE", path: "/v1/schedules/yearly-report", tenant: "acme"})
	s.step("schedules_get_deleted", call{method: "GET", path: "/v1/schedules/yearly-report", tenant: "acme"})

	// Webhook sources.
	s.step("sources_put_standard_webhooks", call{method: "PUT", path: "/v1/webhook-sources/sw", tenant: "acme",
		body: `{"provider":"standard_webhooks","secrets":[{"secret":"` + swSecret + `"}],"forward_url":"` + app.url + `/hooks/sw"}`})
	s.step("sources_put_standard_webhooks_update", call{method: "PUT", path: "/v1/webhook-sources/sw", tenant: "acme",
		body: `{"provider":"standard_webhooks","secrets":[{"secret":"` + swSecret + `"}],"forward_url":"` + app.url + `/hooks/sw","tolerance":"10m","contact_pointer":"/data/user"}`})
	s.step("sources_put_stripe", call{method: "PUT", path: "/v1/webhook-sources/stripe", tenant: "acme",
		body: `{"provider":"stripe","secrets":[{"secret":"` + stripeSecret + `","expires_at":null}]}`})
	s.step("sources_put_invalid", call{method: "PUT", path: "/v1/webhook-sources/bad", tenant: "acme", body: `{"provider":"carrier-pigeon"}`})
	s.step("sources_get", call{method: "GET", path: "/v1/webhook-sources/sw", tenant: "acme"})
	s.step("sources_list", call{method: "GET", path: "/v1/webhook-sources", tenant: "acme"})
	s.step("sources_list_instance", call{method: "GET", path: "/v1/webhook-sources"})
	s.step("sources_get_unknown", call{method: "GET", path: "/v1/webhook-sources/nope", tenant: "acme"})

	// A badly signed delivery is refused and logged in the rejections.
	swBody := `{"type":"user.created","data":{"user":"user_1","email":"ann@example.com","note":"caf\u00e9 <&>"}}`
	s.step("ingest_bad_signature", s.swDelivery("msg_golden_bad", swBody, "whsec_"+base64.StdEncoding.EncodeToString([]byte("not the right key at all!!"))))
	s.step("ingest_unknown_source", call{method: "POST", path: "/in/acme/nope", auth: authNone, body: `{}`})
	s.step("ingest_wrong_method", call{method: "GET", path: "/in/acme/sw", auth: authNone})
	s.step("sources_rejections", call{method: "GET", path: "/v1/webhook-sources/sw/rejections", tenant: "acme"})

	// A validly signed delivery, twice: the second is a duplicate.
	first := s.step("ingest_standard_webhooks", s.swDelivery("msg_golden_1", swBody, swSecret))
	evt := first.str("id")
	s.step("ingest_standard_webhooks_duplicate", s.swDelivery("msg_golden_1", swBody, swSecret))
	// The event's status follows its forward job: recorded only once the
	// forward has been delivered (final).
	s.waitDelivered(evt, 1)
	s.step("events_list", call{method: "GET", path: "/v1/webhook-events", tenant: "acme"})
	ev := s.step("events_get", call{method: "GET", path: "/v1/webhook-events/" + evt, tenant: "acme"})
	fwd := ev.str("forward_job_id")
	s.step("events_forward_job", call{method: "GET", path: "/v1/jobs/" + fwd, tenant: "acme"})
	s.step("events_list_filtered", call{method: "GET", path: "/v1/webhook-events?source=sw&type=user.created&provider_event_id=msg_golden_1&status=delivered", tenant: "acme"})
	s.step("events_get_unknown", call{method: "GET", path: "/v1/webhook-events/evt_doesnotexist", tenant: "acme"})
	// Replay answers "pending" (a new forward job); it is awaited before
	// the next step so every later read sees the event delivered again.
	s.step("events_replay", call{method: "POST", path: "/v1/webhook-events/" + evt + "/replay", tenant: "acme"})
	s.waitDelivered(evt, 2)
	s.step("events_replay_many", call{method: "POST", path: "/v1/webhook-events/replay", tenant: "acme", body: `{"source":"sw","status":["delivered"]}`})
	s.waitDelivered(evt, 3)
	s.step("events_replay_many_none", call{method: "POST", path: "/v1/webhook-events/replay", tenant: "acme", body: `{"source":"sw","status":["dead"]}`})
	s.step("events_get_after_replays", call{method: "GET", path: "/v1/webhook-events/" + evt, tenant: "acme"})

	// Billing: a tenant link, then a Stripe subscription event for that
	// customer, then an instance route (root key, no Joist-Tenant).
	s.step("billing_customer_put_link", call{method: "PUT", path: "/v1/billing/customers/cus_GOLDEN1", tenant: "acme", body: `{"contact":"user_1"}`})
	s.step("billing_customer_get_link", call{method: "GET", path: "/v1/billing/customers/cus_GOLDEN1", tenant: "acme"})
	s.step("billing_customer_put_missing_contact", call{method: "PUT", path: "/v1/billing/customers/cus_GOLDEN1", tenant: "acme", body: `{}`})
	s.step("billing_customer_get_unknown", call{method: "GET", path: "/v1/billing/customers/cus_NONE", tenant: "acme"})
	stripeBody := fmt.Sprintf(`{"id":"evt_golden_sub_created","object":"event","api_version":"2024-06-20","created":%d,"livemode":true,"type":"customer.subscription.created","data":{"object":{"id":"sub_GOLDEN1","object":"subscription","customer":"cus_GOLDEN1","status":"active","current_period_start":%d,"current_period_end":%d,"cancel_at_period_end":false,"trial_end":null,"metadata":{},"items":{"object":"list","data":[{"id":"si_1","object":"subscription_item","quantity":2,"price":{"id":"price_pro","object":"price","nickname":"Pro","product":"prod_pro"}}]}}}}`,
		t0.Unix(), t0.Unix(), t0.Add(30*24*time.Hour).Unix())
	s.fixedTimes(t0, t0.Add(30*24*time.Hour))
	s.step("ingest_stripe", s.stripeDelivery(stripeBody))
	// The subscription appears when its stripe_event job has run: polled
	// (not recorded) until listed.
	s.waitJSON("subscription listed", call{method: "GET", path: "/v1/subscriptions", tenant: "acme"}, func(v res) bool {
		return strings.Contains(string(v.raw), `"sub_GOLDEN1"`)
	})
	s.step("subscriptions_list", call{method: "GET", path: "/v1/subscriptions", tenant: "acme"})
	s.step("subscriptions_list_filtered", call{method: "GET", path: "/v1/subscriptions?status=active,past_due&contact=user_1", tenant: "acme"})
	s.step("subscriptions_list_testmode", call{method: "GET", path: "/v1/subscriptions?livemode=false", tenant: "acme"})
	s.step("subscriptions_list_bad_livemode", call{method: "GET", path: "/v1/subscriptions?livemode=maybe", tenant: "acme"})
	s.step("subscriptions_get", call{method: "GET", path: "/v1/subscriptions/sub_GOLDEN1", tenant: "acme"})
	s.step("subscriptions_get_unknown", call{method: "GET", path: "/v1/subscriptions/sub_NONE", tenant: "acme"})
	s.step("events_list_after_stripe", call{method: "GET", path: "/v1/webhook-events?source=stripe", tenant: "acme"})
	s.step("billing_instance_route_put", call{method: "PUT", path: "/v1/billing/customers/cus_GOLDEN2", body: `{"tenant":"acme","contact":"user_2"}`})
	s.step("billing_instance_route_put_again", call{method: "PUT", path: "/v1/billing/customers/cus_GOLDEN2", body: `{"tenant":"acme"}`})
	s.step("billing_instance_route_get", call{method: "GET", path: "/v1/billing/customers/cus_GOLDEN2"})
	s.step("billing_instance_route_get_on_tenant", call{method: "GET", path: "/v1/billing/customers/cus_GOLDEN2", tenant: "acme"})
	s.step("billing_instance_route_bad_tenant", call{method: "PUT", path: "/v1/billing/customers/cus_GOLDEN3", body: `{"tenant":"nope"}`})
	s.step("billing_tenant_names_other_tenant", call{method: "PUT", path: "/v1/billing/customers/cus_GOLDEN3", tenant: "acme", body: `{"tenant":"globex","contact":"user_1"}`})

	// Timeline and audit, last: they show what the scenario caused.
	s.step("contacts_timeline", call{method: "GET", path: "/v1/contacts/user_1/timeline", tenant: "acme"})
	s.step("contacts_timeline_2", call{method: "GET", path: "/v1/contacts/user_2/timeline", tenant: "acme"})
	s.step("audit_list", call{method: "GET", path: "/v1/audit?limit=200"})
	s.step("audit_list_tenant", call{method: "GET", path: "/v1/audit?action=job.cancel", tenant: "acme"})
	s.step("audit_list_bad_time", call{method: "GET", path: "/v1/audit?since=yesterday"})

	// Problems.
	s.step("problem_unknown_route", call{method: "GET", path: "/v1/nope"})
	s.step("problem_wrong_method", call{method: "PATCH", path: "/v1/tenants"})
	s.step("problem_bad_json", call{method: "POST", path: "/v1/tenants", body: "{\n  \"slug\": \"x\",\n  \"name\": }"})
	s.step("problem_truncated_json", call{method: "POST", path: "/v1/tenants", body: `{"slug":"x"`})
	s.step("problem_unknown_field", call{method: "POST", path: "/v1/tenants", body: `{"slug":"x","colour":"red"}`})
	s.step("problem_wrong_type", call{method: "POST", path: "/v1/tenants", body: `{"slug":7}`})
	s.step("problem_not_an_object", call{method: "POST", path: "/v1/tenants", body: `[1]`})
	s.step("problem_trailing_data", call{method: "POST", path: "/v1/tenants", body: `{"slug":"x"} {}`})
	s.step("problem_empty_body", call{method: "POST", path: "/v1/tenants"})
	s.step("problem_media_type", call{method: "POST", path: "/v1/tenants", body: `{"slug":"x"}`, contentType: "text/plain"})
	s.step("problem_missing_key", call{method: "GET", path: "/v1/tenants", auth: authNone})
	s.step("problem_malformed_authorization", call{method: "GET", path: "/v1/tenants", auth: authBearer, bearer: "", header: map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}})
	s.step("problem_invalid_key", call{method: "GET", path: "/v1/tenants", auth: authBearer, bearer: "jk_notarealkey"})
	s.step("problem_tenant_required", call{method: "GET", path: "/v1/contacts"})
	s.step("problem_tenant_not_found", call{method: "GET", path: "/v1/contacts", tenant: "nope"})
	s.step("problem_instance_tenant_not_for_contacts", call{method: "GET", path: "/v1/contacts", tenant: "_"})
	s.step("problem_invalid_limit", call{method: "GET", path: "/v1/contacts?limit=0", tenant: "acme"})
	s.step("problem_invalid_cursor", call{method: "GET", path: "/v1/contacts?cursor=garbage", tenant: "acme"})
	s.step("problem_unknown_job", call{method: "POST", path: "/v1/jobs/job_doesnotexist/retry", tenant: "acme"})

	s.finish()
}

// ---------------------------------------------------------------------------
// Requests.

type authKind int

const (
	authRoot   authKind = iota // the root key (default)
	authNone                   // no Authorization header
	authBearer                 // Bearer call.bearer
)

type call struct {
	method, path string
	tenant       string // Joist-Tenant; empty: none
	auth         authKind
	bearer       string
	body         string
	contentType  string // default application/json when there is a body
	header       map[string]string
	// show lists request headers written to the golden file besides
	// Joist-Tenant and Idempotency-Key (their values normalised).
	show []string
}

type res struct {
	status int
	proto  string
	line   string
	header http.Header
	raw    []byte
}

// str reads a top-level string field of a JSON body.
func (r res) str(k string) string {
	var m map[string]any
	_ = json.Unmarshal(r.raw, &m)
	s, _ := m[k].(string)
	return s
}

type scenario struct {
	t    *testing.T
	env  *apptest.Env
	dir  string
	hc   *http.Client
	norm *normalizer
	n    int
	seen map[string]bool
	fail int
}

func newScenario(t *testing.T, env *apptest.Env, dir string, app *receiver) *scenario {
	s := &scenario{t: t, env: env, dir: dir, seen: map[string]bool{},
		hc: &http.Client{Timeout: 30 * time.Second,
			Transport:     &http.Transport{DisableCompression: true}, // the body bytes as the server wrote them
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		norm: newNormalizer()}
	s.norm.literal(env.RootKey, "<root-key>")
	s.norm.literal(strings.TrimPrefix(env.URL, "http://"), "127.0.0.1:<joist-port>")
	s.norm.literal(strings.TrimPrefix(app.url, "http://"), "127.0.0.1:<app-port>")
	s.fixedTimes(time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)) // the example time in invalid_time's detail
	return s
}

func (s *scenario) fixedTimes(ts ...time.Time) {
	for _, x := range ts {
		s.norm.fixed[x.UTC().Format(time.RFC3339Nano)] = true
	}
}

func (s *scenario) do(c call) (res, string) {
	s.t.Helper()
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, s.env.URL+c.path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("User-Agent", "joist-golden-test")
	switch c.auth {
	case authRoot:
		req.Header.Set("Authorization", "Bearer "+s.env.RootKey)
	case authBearer:
		if c.bearer != "" {
			req.Header.Set("Authorization", "Bearer "+c.bearer)
		}
	}
	if c.tenant != "" {
		req.Header.Set("Joist-Tenant", c.tenant)
	}
	if c.body != "" {
		ct := c.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("%s %s: read body: %v", c.method, c.path, err)
	}
	r := res{status: resp.StatusCode, proto: resp.Proto, line: resp.Proto + " " + resp.Status, header: resp.Header, raw: raw}

	// The golden text: the request, then the response.
	var b strings.Builder
	b.WriteString(c.method + " " + c.path + "\n")
	auth := map[authKind]string{authRoot: "root key", authNone: "none", authBearer: "other"}[c.auth]
	if c.auth == authBearer && c.header["Authorization"] == "" && c.bearer != "" {
		auth = "Bearer " + c.bearer
	}
	if h := c.header["Authorization"]; h != "" {
		auth = h
	}
	b.WriteString("Authorization: " + auth + "\n")
	shown := append([]string{"Joist-Tenant", "Idempotency-Key", "Content-Type"}, c.show...)
	for _, k := range shown {
		if v := req.Header.Get(k); v != "" {
			b.WriteString(k + ": " + v + "\n")
		}
	}
	if c.body != "" {
		b.WriteString("\n" + c.body + "\n")
	}
	b.WriteString("\n--- response ---\n")
	b.WriteString(r.line + "\n")
	for _, k := range stableHeaders {
		for _, v := range resp.Header.Values(k) {
			b.WriteString(k + ": " + v + "\n")
		}
	}
	b.WriteString("\n")
	b.Write(raw)
	return r, b.String()
}

// stableHeaders are the response headers the golden files keep (in this
// order); the others (Date, Content-Length, Joist-Correlation-Id...) vary or
// are transport details.
var stableHeaders = []string{"Content-Type", "Location", "Allow", "Idempotent-Replayed", "Cache-Control", "WWW-Authenticate"}

// step performs c and compares (or with -update writes) its golden file.
func (s *scenario) step(name string, c call) res {
	s.t.Helper()
	s.n++
	file := fmt.Sprintf("%03d_%s.golden", s.n, name)
	if s.seen[file] {
		s.t.Fatalf("step %s twice", file)
	}
	s.seen[file] = true
	r, text := s.do(c)
	got := s.norm.apply([]byte(text))
	path := filepath.Join(s.dir, file)
	if *update {
		if err := os.MkdirAll(s.dir, 0o755); err != nil {
			s.t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			s.t.Fatal(err)
		}
		return r
	}
	want, err := os.ReadFile(path)
	if err != nil {
		s.t.Errorf("step %s: %v (run with -update to create it)", file, err)
		s.fail++
		return r
	}
	if !bytes.Equal(got, want) {
		s.fail++
		s.t.Errorf("step %s: response differs from %s\n%s", name, path, diff(want, got))
	}
	return r
}

// finish removes (with -update) or reports golden files no step wrote.
func (s *scenario) finish() {
	files, _ := filepath.Glob(filepath.Join(s.dir, "*.golden"))
	for _, f := range files {
		if s.seen[filepath.Base(f)] {
			continue
		}
		if *update {
			_ = os.Remove(f)
		} else {
			s.t.Errorf("golden file %s belongs to no step (run with -update)", f)
		}
	}
	if !*update && s.fail == 0 {
		s.t.Logf("%d steps match %s byte for byte (after normalising volatile values)", s.n, s.dir)
	}
}

// waitJSON polls c (not recorded) until ok or 30 s.
func (s *scenario) waitJSON(what string, c call, ok func(res) bool) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, _ := s.do(c)
		if r.status == 200 && ok(r) {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("waiting for %s: last answer %s %s", what, r.line, r.raw)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// waitDelivered waits until event evt's n-th forward job has completed and
// the event reads delivered.
func (s *scenario) waitDelivered(evt string, n int) {
	s.t.Helper()
	s.waitJSON(fmt.Sprintf("event %s delivered (%d)", evt, n), call{method: "GET", path: "/v1/webhook-events/" + evt, tenant: "acme"}, func(r res) bool {
		if r.str("status") != "delivered" {
			return false
		}
		return receivedCount("/hooks/sw") >= n
	})
}

func (s *scenario) swDelivery(id, body, secret string) call {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		s.t.Fatal(err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "." + body))
	sig := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	s.norm.literal(sig, "<signature>")
	s.norm.literal(ts, "<unix-time>")
	return call{method: "POST", path: "/in/acme/sw", auth: authNone, body: body,
		header: map[string]string{"webhook-id": id, "webhook-timestamp": ts, "webhook-signature": sig},
		show:   []string{"Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"}}
}

func (s *scenario) stripeDelivery(body string) call {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	m := hmac.New(sha256.New, []byte(stripeSecret))
	m.Write([]byte(ts + "." + body))
	sig := "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
	s.norm.literal(sig, "<stripe-signature>")
	return call{method: "POST", path: "/in/acme/stripe", auth: authNone, body: body, contentType: "application/json; charset=utf-8",
		header: map[string]string{"Stripe-Signature": sig, "Joist-Correlation-Id": "golden-stripe-1"},
		show:   []string{"Stripe-Signature", "Joist-Correlation-Id"}}
}

// ---------------------------------------------------------------------------
// The app joist forwards to and pushes jobs to: answers 200 "ok" (and 410
// "gone" to the first request for /jobs/gone-once).

type receiver struct{ url string }

var (
	recvMu  sync.Mutex
	recvGot = map[string]int{}
)

func receivedCount(path string) int {
	recvMu.Lock()
	defer recvMu.Unlock()
	return recvGot[path]
}

func newReceiver(t *testing.T) *receiver {
	recvMu.Lock()
	recvGot = map[string]int{}
	recvMu.Unlock()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		recvMu.Lock()
		recvGot[r.URL.Path]++
		n := recvGot[r.URL.Path]
		recvMu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		if r.URL.Path == "/jobs/gone-once" && n == 1 {
			w.WriteHeader(http.StatusGone)
			_, _ = w.Write([]byte("gone"))
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return &receiver{url: srv.URL}
}

// ---------------------------------------------------------------------------
// Normalisation: only volatile values, on the raw bytes, each replaced by a
// placeholder inside the same JSON string (or a string in place of a
// measured number), so key order, spacing and escaping stay as returned.

type normalizer struct {
	literals []lit             // exact values known to the test (root key, ports, signatures...)
	ids      map[string]string // id -> placeholder, numbered per prefix by first appearance
	count    map[string]int
	fixed    map[string]bool // times set by the scenario itself: kept
}

type lit struct{ from, to string }

func newNormalizer() *normalizer {
	return &normalizer{ids: map[string]string{}, count: map[string]int{}, fixed: map[string]bool{}}
}

func (n *normalizer) literal(from, to string) {
	if from == "" {
		return
	}
	for _, l := range n.literals {
		if l.from == from {
			return
		}
	}
	n.literals = append(n.literals, lit{from, to})
	sort.SliceStable(n.literals, func(i, j int) bool { return len(n.literals[i].from) > len(n.literals[j].from) })
}

var (
	// Object ids: a type prefix and a lower-case ULID (store.NewID). Every
	// prefix NewID is called with: tn_ ct_ key_ op_ aud_ tl_ cor_ job_ evt_
	// rej_ src_ sch_ whs_ bsub_ sbc_. The instance tenant's fixed id
	// (tn_ and 26 zeros) is kept.
	idRE = regexp.MustCompile(`\b(tn|ct|key|op|aud|tl|cor|job|evt|rej|src|sch|whs|bsub|sbc)_[0-9a-z]{26}\b`)
	// API keys ("jk_" + base62 of 32 random bytes) and their display
	// prefix ("jk_" and 6 characters, as a JSON string).
	keyRE       = regexp.MustCompile(`\bjk_[0-9A-Za-z]{30,}`)
	keyPrefixRE = regexp.MustCompile(`"jk_[0-9A-Za-z]{6}"`)
	// Page cursors: opaque, base64url of a position that names an id.
	cursorRE = regexp.MustCompile(`"next_cursor":"([A-Za-z0-9_-]+)"`)
	// Generated signing secrets: "whsec_" + base64 of 32 random bytes.
	whsecRE = regexp.MustCompile(`whsec_[A-Za-z0-9+/]{43}=`)
	// RFC 3339 times.
	timeRE = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})`)
	// Measured durations.
	durationRE = regexp.MustCompile(`"duration_ms":\d+`)
	// Any other loopback port (client ports in IPs).
	portRE = regexp.MustCompile(`127\.0\.0\.1:\d+`)
)

// replaceIDs replaces each generated id by <prefix#n>, n counting the
// distinct ids of that prefix in order of first appearance in the scenario,
// so the golden files still show which id is which.
func (n *normalizer) replaceIDs(s string) string {
	return idRE.ReplaceAllStringFunc(s, func(id string) string {
		if id == store.InstanceTenantID {
			return id
		}
		if p, ok := n.ids[id]; ok {
			return p
		}
		prefix := id[:strings.IndexByte(id, '_')]
		n.count[prefix]++
		p := fmt.Sprintf("<%s#%d>", prefix, n.count[prefix])
		n.ids[id] = p
		return p
	})
}

// cursor is the placeholder of a page cursor: its decoded content with the
// id in it normalised (so a change of the cursor's format still shows).
func (n *normalizer) cursor(c string) string {
	dec, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !utf8.Valid(dec) || bytes.ContainsAny(dec, "\"\\<>") {
		return "<cursor>"
	}
	return "<cursor:" + n.replaceIDs(string(dec)) + ">"
}

func (n *normalizer) apply(b []byte) []byte {
	s := string(b)
	for _, l := range n.literals {
		s = strings.ReplaceAll(s, l.from, l.to)
	}
	s = n.replaceIDs(s)
	s = keyRE.ReplaceAllString(s, "<key-secret>")
	s = keyPrefixRE.ReplaceAllString(s, `"<key-prefix>"`)
	s = cursorRE.ReplaceAllStringFunc(s, func(m string) string {
		c := cursorRE.FindStringSubmatch(m)[1]
		return `"next_cursor":"` + n.cursor(c) + `"`
	})
	s = whsecRE.ReplaceAllString(s, "<whsec-secret>")
	s = timeRE.ReplaceAllStringFunc(s, func(ts string) string {
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil && n.fixed[t.UTC().Format(time.RFC3339Nano)] && strings.HasSuffix(ts, "Z") {
			return ts
		}
		return "<time>"
	})
	s = durationRE.ReplaceAllString(s, `"duration_ms":"<ms>"`)
	s = portRE.ReplaceAllString(s, "127.0.0.1:<port>")
	return []byte(s)
}

// diff shows the first differing lines of want and got (quoted, so spaces,
// escapes and a missing final newline show), with a little context.
func diff(want, got []byte) string {
	wl := strings.SplitAfter(string(want), "\n")
	gl := strings.SplitAfter(string(got), "\n")
	i := 0
	for i < len(wl) && i < len(gl) && wl[i] == gl[i] {
		i++
	}
	var b strings.Builder
	from := max(0, i-2)
	for k := from; k < i; k++ {
		fmt.Fprintf(&b, "   %q\n", wl[k])
	}
	shown := 0
	for k := i; k < len(wl) && shown < 6; k, shown = k+1, shown+1 {
		fmt.Fprintf(&b, "-  %q\n", wl[k])
	}
	shown = 0
	for k := i; k < len(gl) && shown < 6; k, shown = k+1, shown+1 {
		fmt.Fprintf(&b, "+  %q\n", gl[k])
	}
	if i < len(wl) && i < len(gl) {
		a, c := wl[i], gl[i]
		j := 0
		for j < len(a) && j < len(c) && a[j] == c[j] {
			j++
		}
		fmt.Fprintf(&b, "first difference at line %d, byte %d: golden %q, got %q\n", i+1, j+1, tail(a[j:]), tail(c[j:]))
	}
	return b.String()
}

func tail(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}
