package schedules_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/joist-dev/joist/client"
	"github.com/joist-dev/joist/internal/apitest/openapicheck"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/schedules"
	"github.com/joist-dev/joist/internal/store/storetest"
)

// checkedClient is a root client bound to tenant slug whose every exchange is
// validated against /openapi.json.
func checkedClient(t *testing.T, env *apptest.Env, slug string) (*client.Client, *openapicheck.Checker) {
	chk := openapicheck.New(t, apptest.OpenAPI(t))
	hc := &http.Client{Transport: chk.Transport(nil), Timeout: 30 * time.Second}
	return client.New(env.URL, env.RootKey, hc).Tenant(slug), chk
}

func auditCount(t *testing.T, c *client.Client, action string) int {
	t.Helper()
	l, err := c.ListAudit(context.Background(), client.AuditListOptions{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return len(l.Data)
}

// TestScheduleFiresPausesResumesDeletes runs a real joist per store: an
// "@every 1s" schedule delivers signed jobs to a receiver, pause stops it,
// resume restarts it, delete stops it for good; every change is audited.
func TestScheduleFiresPausesResumesDeletes(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn := newTenant(t, env, "acme")
		c, chk := checkedClient(t, env, "acme")
		rcv := newReceiver(t)
		s, created, err := c.PutSchedule(ctx, "tick", client.SchedulePut{Cron: "@every 1s",
			Job: client.ScheduleJob{URL: rcv.srv.URL + "/tick", Body: json.RawMessage(`{"report":"daily"}`), Timeout: "5s"}})
		if err != nil || !created {
			t.Fatalf("put: %v created=%v", err, created)
		}
		if len(s.NextRuns) != 5 || s.NextRunAt == nil || !s.NextRuns[0].Equal(*s.NextRunAt) || s.NextRuns[4].Sub(s.NextRuns[0]) != 4*time.Second {
			t.Fatalf("next runs: %v (next_run_at %v)", s.NextRuns, s.NextRunAt)
		}
		waitFor(t, 15*time.Second, "3 deliveries", func() bool { return len(rcv.of("tick")) >= 3 })
		for _, d := range rcv.of("tick") {
			slot, err := time.Parse(time.RFC3339, d.slot)
			if err != nil || d.correlationID != schedules.CorrelationID("tick", slot) || !strings.HasPrefix(d.jobID, "job_") {
				t.Fatalf("delivery does not name its slot: %+v (%v)", d, err)
			}
		}
		got, err := c.GetSchedule(ctx, "tick")
		if err != nil || got.LastRunAt == nil || !strings.HasPrefix(got.LastJobID, "job_") || got.LastError != "" {
			t.Fatalf("get after runs: %v %+v", err, got)
		}

		// Pause: no new slot fires.
		p, err := c.PauseSchedule(ctx, "tick")
		if err != nil || !p.Paused || p.NextRunAt != nil || len(p.NextRuns) != 0 {
			t.Fatalf("pause: %v %+v", err, p)
		}
		if _, err := c.PauseSchedule(ctx, "tick"); err != nil { // a second pause is a no-op
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond) // jobs enqueued before the pause finish
		paused := len(rcv.of("tick"))
		time.Sleep(2500 * time.Millisecond)
		if n := len(rcv.of("tick")); n != paused {
			t.Fatalf("%d deliveries while paused", n-paused)
		}

		// Resume: it fires again, from after now (the paused slots are not run).
		resumedAt := time.Now().Truncate(time.Second)
		if r, err := c.ResumeSchedule(ctx, "tick"); err != nil || r.Paused || r.NextRunAt == nil || r.NextRunAt.Before(resumedAt) {
			t.Fatalf("resume: %v %+v", err, r)
		}
		waitFor(t, 10*time.Second, "deliveries after resume", func() bool { return len(rcv.of("tick")) >= paused+2 })
		for _, d := range rcv.of("tick")[paused:] {
			if slot, _ := time.Parse(time.RFC3339, d.slot); slot.Before(resumedAt) {
				t.Fatalf("a slot from the paused period ran after resume: %s", d.slot)
			}
		}

		l, err := c.ListSchedules(ctx, client.ListOptions{Limit: 10})
		if err != nil || len(l.Data) != 1 || l.Data[0].Name != "tick" {
			t.Fatalf("list: %v %+v", err, l)
		}

		// Delete: it stops for good.
		if _, err := c.DeleteSchedule(ctx, "tick"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond)
		deleted := len(rcv.of("tick"))
		time.Sleep(2500 * time.Millisecond)
		if n := len(rcv.of("tick")); n != deleted {
			t.Fatalf("%d deliveries after delete", n-deleted)
		}
		var e *client.Error
		if _, err := c.GetSchedule(ctx, "tick"); !errors.As(err, &e) || e.Status != 404 {
			t.Fatalf("get after delete: %v", err)
		}
		if _, err := c.PauseSchedule(ctx, "tick"); !errors.As(err, &e) || e.Status != 404 {
			t.Fatalf("pause after delete: %v", err)
		}

		// One job per slot, each delivered once (the receiver always answers 200).
		jobs := jobsOf(t, env, tn.ID, "tick")
		if len(rcv.slots("tick")) != len(rcv.of("tick")) || len(jobs) != len(rcv.of("tick")) {
			t.Fatalf("%d jobs, %d deliveries, %d distinct slots", len(jobs), len(rcv.of("tick")), len(rcv.slots("tick")))
		}
		for action, want := range map[string]int{"schedule.put": 1, "schedule.pause": 1, "schedule.resume": 1, "schedule.delete": 1} {
			if n := auditCount(t, c, action); n != want {
				t.Errorf("%d %s audit entries, want %d", n, action, want)
			}
		}
		for _, op := range chk.Uncovered() {
			if strings.Contains(op, "/v1/schedules") {
				t.Errorf("schedule operation not exercised: %s", op)
			}
		}
		t.Logf("%s: %d deliveries, %d jobs, all distinct slots", env.Dialect, len(rcv.of("tick")), len(jobs))
	})
}

// TestSchedulePutReplaceListAndTimezone covers create vs replace, the no-op
// replace, paging, and next runs read in the schedule's timezone.
func TestSchedulePutReplaceListAndTimezone(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		newTenant(t, env, "acme")
		c, _ := checkedClient(t, env, "acme")
		var h http.Header
		in := client.SchedulePut{Cron: "0 9 * * *", Timezone: "Europe/Paris", Missed: "run_once",
			Job: client.ScheduleJob{URL: "http://127.0.0.1:9/report", Method: "put", Headers: map[string]string{"X-App": "1"}, Priority: 1}}
		s, created, err := c.PutSchedule(ctx, "report", in, client.ResponseHeader(&h))
		if err != nil || !created || h.Get("Location") != "/v1/schedules/report" {
			t.Fatalf("create: %v %v %q", err, created, h.Get("Location"))
		}
		paris, _ := time.LoadLocation("Europe/Paris")
		for _, r := range s.NextRuns {
			if l := r.In(paris); l.Hour() != 9 || l.Minute() != 0 || (r.Hour() != 8 && r.Hour() != 7) {
				t.Fatalf("next run %s is not 09:00 in Paris (07:00Z or 08:00Z): %v", r, s.NextRuns)
			}
		}
		if s.Job.Method != "put" || s.Job.Headers["X-App"] != "1" || s.Missed != "run_once" || s.Timezone != "Europe/Paris" {
			t.Fatalf("stored schedule: %+v", s)
		}
		if n := auditCount(t, c, "schedule.put"); n != 1 {
			t.Fatalf("%d schedule.put entries after create", n)
		}
		// The same PUT again: 200, nothing changed, nothing audited.
		if s2, created, err := c.PutSchedule(ctx, "report", in); err != nil || created || s2.UpdatedAt != s.UpdatedAt {
			t.Fatalf("no-op replace: %v %v %+v", err, created, s2)
		}
		if n := auditCount(t, c, "schedule.put"); n != 1 {
			t.Fatalf("a no-op replace was audited (%d entries)", n)
		}
		// A real replace: 200, the new values, audited; absent fields take defaults.
		s3, created, err := c.PutSchedule(ctx, "report", client.SchedulePut{Cron: "30 6 * * 1", Job: client.ScheduleJob{URL: "http://127.0.0.1:9/v2"}})
		if err != nil || created || s3.Cron != "30 6 * * 1" || s3.Timezone != "UTC" || s3.Missed != "skip" || s3.Job.URL != "http://127.0.0.1:9/v2" ||
			s3.ID != s.ID || s3.NextRuns[0].Weekday() != time.Monday || s3.NextRuns[0].Hour() != 6 {
			t.Fatalf("replace: %v %v %+v", err, created, s3)
		}
		if n := auditCount(t, c, "schedule.put"); n != 2 {
			t.Fatalf("%d schedule.put entries after replace", n)
		}
		for i := range 4 {
			if _, _, err := c.PutSchedule(ctx, fmt.Sprintf("s%d", i), client.SchedulePut{Cron: "@daily", Paused: true,
				Job: client.ScheduleJob{URL: "http://127.0.0.1:9/x"}}); err != nil {
				t.Fatal(err)
			}
		}
		var names []string
		lo := client.ListOptions{Limit: 2}
		for pages := 0; ; pages++ {
			l, err := c.ListSchedules(ctx, lo)
			if err != nil || pages > 5 {
				t.Fatalf("list: %v (page %d)", err, pages)
			}
			for _, s := range l.Data {
				names = append(names, s.Name)
			}
			if l.NextCursor == "" {
				break
			}
			lo.Cursor = l.NextCursor
		}
		if strings.Join(names, ",") != "report,s0,s1,s2,s3" {
			t.Fatalf("paged list: %v", names)
		}
	})
}

// TestBadScheduleInputStoresNothing sends bad schedules: each gets a clear
// 4xx problem, and no schedule, run, job or audit row is written.
func TestBadScheduleInputStoresNothing(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		newTenant(t, env, "acme")
		c, _ := checkedClient(t, env, "acme")
		if _, _, err := c.PutSchedule(context.Background(), "exists", client.SchedulePut{Cron: "@daily", Job: client.ScheduleJob{URL: "http://127.0.0.1:9/x"}}); err != nil {
			t.Fatal(err)
		}
		job := `"job":{"url":"http://127.0.0.1:9/x"}`
		cases := []struct {
			name, method, path, body string
			status                   int
			code, detail             string
		}{
			{"bad cron", "PUT", "/v1/schedules/a", `{"cron":"61 * * * *",` + job + `}`, 400, "invalid_cron", "five fields"},
			{"words", "PUT", "/v1/schedules/a", `{"cron":"every day",` + job + `}`, 400, "invalid_cron", "every day"},
			{"no cron", "PUT", "/v1/schedules/a", `{` + job + `}`, 400, "invalid_cron", "required"},
			{"TZ prefix", "PUT", "/v1/schedules/a", `{"cron":"TZ=Europe/Paris 0 9 * * *",` + job + `}`, 400, "invalid_cron", `"timezone" field`},
			{"CRON_TZ prefix", "PUT", "/v1/schedules/a", `{"cron":"CRON_TZ=UTC 0 9 * * *",` + job + `}`, 400, "invalid_cron", "timezone"},
			{"never fires", "PUT", "/v1/schedules/a", `{"cron":"0 0 30 2 *",` + job + `}`, 400, "invalid_cron", "never fires"},
			{"every too short", "PUT", "/v1/schedules/a", `{"cron":"@every 100ms",` + job + `}`, 400, "invalid_cron", "at least 1s"},
			{"unknown timezone", "PUT", "/v1/schedules/a", `{"cron":"@daily","timezone":"Mars/Olympus",` + job + `}`, 400, "invalid_timezone", "Europe/Paris"},
			{"Local timezone", "PUT", "/v1/schedules/a", `{"cron":"@daily","timezone":"Local",` + job + `}`, 400, "invalid_timezone", ""},
			{"bad missed", "PUT", "/v1/schedules/a", `{"cron":"@daily","missed":"sometimes",` + job + `}`, 400, "invalid_missed", "run_once"},
			{"no job", "PUT", "/v1/schedules/a", `{"cron":"@daily"}`, 400, "invalid_url", "job: url"},
			{"bad url", "PUT", "/v1/schedules/a", `{"cron":"@daily","job":{"url":"ftp://x"}}`, 400, "invalid_url", "http"},
			{"metadata url", "PUT", "/v1/schedules/a", `{"cron":"@daily","job":{"url":"http://169.254.169.254/latest/meta-data/"}}`, 400, "host_not_allowed", `job: url: destination "169.254.169.254" refused`},
			{"mapped metadata url", "PUT", "/v1/schedules/a", `{"cron":"@daily","job":{"url":"http://[::ffff:169.254.169.254]/"}}`, 400, "host_not_allowed", "JOIST_EGRESS_ALLOW"},
			{"unknown queue", "PUT", "/v1/schedules/a", `{"cron":"@daily","job":{"url":"http://x","queue":"nope"}}`, 400, "unknown_queue", "nope"},
			{"bad priority", "PUT", "/v1/schedules/a", `{"cron":"@daily","job":{"url":"http://x","priority":9}}`, 400, "invalid_priority", "1 (highest) to 4"},
			{"bad timeout", "PUT", "/v1/schedules/a", `{"cron":"@daily","job":{"url":"http://x","timeout":"1ms"}}`, 400, "invalid_timeout", "1s"},
			{"bad method", "PUT", "/v1/schedules/a", `{"cron":"@daily","job":{"url":"http://x","method":"TRACE"}}`, 400, "invalid_method", "TRACE"},
			{"signing header", "PUT", "/v1/schedules/a", `{"cron":"@daily","job":{"url":"http://x","headers":{"webhook-id":"1"}}}`, 400, "invalid_header", "webhook-id"},
			{"slot header", "PUT", "/v1/schedules/a", `{"cron":"@daily","job":{"url":"http://x","headers":{"joist-schedule-slot":"1"}}}`, 400, "invalid_header", "set by joist"},
			{"run_at in template", "PUT", "/v1/schedules/a", `{"cron":"@daily","job":{"url":"http://x","run_at":"2030-01-01T00:00:00Z"}}`, 400, "unknown_field", "run_at"},
			{"unique_key in template", "PUT", "/v1/schedules/a", `{"cron":"@daily","job":{"url":"http://x","unique_key":"k"}}`, 400, "unknown_field", "unique_key"},
			{"unknown field", "PUT", "/v1/schedules/a", `{"crn":"@daily",` + job + `}`, 400, "unknown_field", "crn"},
			{"paused not bool", "PUT", "/v1/schedules/a", `{"cron":"@daily","paused":"yes",` + job + `}`, 400, "invalid_field_type", "paused"},
			{"not json", "PUT", "/v1/schedules/a", `cron=@daily`, 400, "invalid_json", ""},
			{"bad name", "PUT", "/v1/schedules/Bad%20Name", `{"cron":"@daily",` + job + `}`, 400, "invalid_schedule_name", "a-z"},
			{"name too long", "PUT", "/v1/schedules/" + strings.Repeat("n", 64), `{"cron":"@daily",` + job + `}`, 400, "invalid_schedule_name", "63"},
			{"name starts with dash", "PUT", "/v1/schedules/-x", `{"cron":"@daily",` + job + `}`, 400, "invalid_schedule_name", ""},
			{"bad replace keeps the old", "PUT", "/v1/schedules/exists", `{"cron":"@daily","timezone":"Nowhere",` + job + `}`, 400, "invalid_timezone", ""},
			{"pause unknown", "POST", "/v1/schedules/nope/pause", ``, 404, "not_found", "nope"},
			{"resume unknown", "POST", "/v1/schedules/nope/resume", ``, 404, "not_found", "nope"},
			{"delete unknown", "DELETE", "/v1/schedules/nope", ``, 404, "not_found", "nope"},
			{"get unknown", "GET", "/v1/schedules/nope", ``, 404, "not_found", "nope"},
			{"bad cursor", "GET", "/v1/schedules?cursor=%21", ``, 400, "invalid_cursor", ""},
			{"no tenant", "GET", "/v1/schedules", ``, 400, "tenant_required", ""},
		}
		before := env.Snapshot(t)
		hc := &http.Client{Transport: openapicheck.New(t, apptest.OpenAPI(t)).Transport(nil)}
		for _, tc := range cases {
			req, _ := http.NewRequest(tc.method, env.URL+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+env.RootKey)
			if tc.code != "tenant_required" {
				req.Header.Set("Joist-Tenant", "acme")
			}
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var p struct{ Code, Detail string }
			_ = json.Unmarshal(b, &p)
			if resp.StatusCode != tc.status || p.Code != tc.code || !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("%s: %d %s %q, want %d %s containing %q", tc.name, resp.StatusCode, p.Code, p.Detail, tc.status, tc.code, tc.detail)
			}
		}
		storetest.Unchanged(t, before, env.Snapshot(t))
		if s, err := c.GetSchedule(context.Background(), "exists"); err != nil || s.Timezone != "UTC" {
			t.Fatalf("a refused replace changed the schedule: %v %+v", err, s)
		}
	})
}
