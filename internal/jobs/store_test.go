package jobs

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/store/storetest"
	"github.com/riverqueue/river/rivertype"
)

// The jobs system's own SQL, on both stores, against River's real tables:
// rows of river_job are written directly in each state River uses.

var base = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func minute(n int) time.Time { return base.Add(time.Duration(n) * time.Minute) }

// riverRow inserts River's row for a job in state, scheduled at.
func riverRow(ctx context.Context, tx *store.Tx, id int64, kind, queue, state string, at time.Time) error {
	var finalized any
	if state == "completed" || state == "cancelled" || state == "discarded" {
		finalized = at
	}
	_, err := tx.Exec(ctx, `INSERT INTO river_job (id, args, kind, queue, state, attempt, max_attempts, priority, scheduled_at, finalized_at)
		VALUES (?, '{}', ?, ?, ?, 1, 7, 2, ?, ?)`, id, kind, queue, state, at, finalized)
	return err
}

// tenant A's jobs: id, River state, kind, queue; job_aNN was created at
// minute NN and has River id NN.
var fixture = []struct {
	id, state, kind, queue string
}{
	{"job_a01", "available", "http_push", "default"},
	{"job_a02", "scheduled", "http_push", "default"},
	{"job_a03", "running", "http_push", "emails"},
	{"job_a04", "retryable", "stripe_event", "default"},
	{"job_a05", "completed", "http_push", "default"},
	{"job_a06", "cancelled", "http_push", "default"},
	{"job_a07", "discarded", "http_push", "emails"},
	{"job_a08", "cancelled", "http_push", "default"}, // dead: its dead reason is set below
	{"job_a09", "pending", "stripe_event", "default"},
}

func ids(recs []record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

func TestJobStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := MigrateRiver(ctx, db); err != nil {
			t.Fatal(err)
		}
		a, b := storetest.Tenant(t, db, "acme").ID, storetest.Tenant(t, db, "bravo").ID
		err := db.Write(ctx, func(tx *store.Tx) error {
			sa := scope{tx.Tenant(a)}
			for i, f := range fixture {
				n := i + 1
				if err := riverRow(ctx, tx, int64(n), f.kind, f.queue, f.state, minute(n)); err != nil {
					return err
				}
				if err := sa.jobInsert(ctx, record{ID: f.id, RiverID: int64(n), Kind: f.kind, Queue: f.queue, URL: "https://example.com/" + f.id,
					Method: "POST", UniqueKey: "u" + f.id, Schedule: "nightly", CorrelationID: "cor_" + f.id, CreatedAt: minute(n)}); err != nil {
					return err
				}
			}
			if err := sa.jobSetDeadReason(ctx, "job_a08", "gone"); err != nil {
				return err
			}
			// Tenant B: 120 completed jobs in one jobInsertMany (two statements).
			var many []record
			for i := range 120 {
				if err := riverRow(ctx, tx, int64(1000+i), "noop", "default", "completed", minute(100)); err != nil {
					return err
				}
				many = append(many, record{ID: fmt.Sprintf("job_b%03d", i), RiverID: int64(1000 + i), Kind: "noop", Queue: "default", CreatedAt: minute(100)})
			}
			return scope{tx.Tenant(b)}.jobInsertMany(ctx, many)
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := storetest.Count(t, db, "jobs"); n != 129 {
			t.Fatalf("%d jobs stored, want 129", n)
		}

		read := func(f func(tx *store.Tx) error) {
			t.Helper()
			if err := db.Read(ctx, f); err != nil {
				t.Fatal(err)
			}
		}

		// Get and ByRiverID join River's row, and see only the scope's tenant.
		read(func(tx *store.Tx) error {
			sa, sb := scope{tx.Tenant(a)}, scope{tx.Tenant(b)}
			j, err := sa.jobGet(ctx, "job_a04")
			if err != nil {
				return err
			}
			want := record{ID: "job_a04", TenantID: a, RiverID: 4, Kind: "stripe_event", Queue: "default", URL: "https://example.com/job_a04",
				Method: "POST", UniqueKey: "ujob_a04", Schedule: "nightly", CorrelationID: "cor_job_a04", RiverState: "retryable",
				Attempt: 1, MaxAttempts: 7, Priority: 2}
			got := j
			got.CreatedAt, got.ScheduledAt = time.Time{}, time.Time{}
			if got != want || !j.CreatedAt.Equal(minute(4)) || !j.ScheduledAt.Equal(minute(4)) || j.FinalizedAt != nil {
				return fmt.Errorf("jobGet: %+v", j)
			}
			if j, err := sa.jobGet(ctx, "job_a05"); err != nil || j.FinalizedAt == nil || !j.FinalizedAt.Equal(minute(5)) {
				return fmt.Errorf("completed job: %v %+v", err, j)
			}
			if j, err := sa.jobByRiverID(ctx, 7); err != nil || j.ID != "job_a07" || userState(j.RiverState, j.DeadReason) != "dead" {
				return fmt.Errorf("jobByRiverID: %v %+v", err, j)
			}
			if j, err := sa.jobGet(ctx, "job_a08"); err != nil || j.DeadReason != "gone" || userState(j.RiverState, j.DeadReason) != "dead" {
				return fmt.Errorf("dead reason: %v %+v", err, j)
			}
			if _, err := sb.jobGet(ctx, "job_a01"); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("B gets A's job: %v", err)
			}
			if _, err := sb.jobByRiverID(ctx, 1); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("B gets A's job by River id: %v", err)
			}
			if _, err := sa.jobGet(ctx, "job_b000"); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("A gets B's job: %v", err)
			}
			if j, err := sb.jobGet(ctx, "job_b119"); err != nil || j.TenantID != b || j.RiverState != "completed" {
				return fmt.Errorf("B's last job of the batch: %v %+v", err, j)
			}
			return nil
		})

		// List pages newest first with cursors, and filters.
		read(func(tx *store.Tx) error {
			sa := scope{tx.Tenant(a)}
			var pages [][]string
			p := store.Page{Limit: 4}
			for {
				recs, next, err := sa.jobList(ctx, p, Filter{})
				if err != nil {
					return err
				}
				pages = append(pages, ids(recs))
				if next == "" {
					break
				}
				p.Cursor = next
			}
			want := [][]string{{"job_a09", "job_a08", "job_a07", "job_a06"}, {"job_a05", "job_a04", "job_a03", "job_a02"}, {"job_a01"}}
			if fmt.Sprint(pages) != fmt.Sprint(want) {
				return fmt.Errorf("pages %v, want %v", pages, want)
			}
			for _, c := range []struct {
				f    Filter
				want []string
			}{
				{Filter{States: []string{"scheduled"}}, []string{"job_a09", "job_a02"}},
				{Filter{States: []string{"available"}}, []string{"job_a01"}},
				{Filter{States: []string{"running", "retrying"}}, []string{"job_a04", "job_a03"}},
				{Filter{States: []string{"completed"}}, []string{"job_a05"}},
				{Filter{States: []string{"cancelled"}}, []string{"job_a06"}},
				{Filter{States: []string{"dead"}}, []string{"job_a08", "job_a07"}},
				{Filter{Queue: "emails"}, []string{"job_a07", "job_a03"}},
				{Filter{Kind: "stripe_event"}, []string{"job_a09", "job_a04"}},
				{Filter{Kind: "noop"}, []string{}},
				{Filter{Since: minute(3), Until: minute(6)}, []string{"job_a05", "job_a04", "job_a03"}},
				{Filter{States: []string{"dead"}, Queue: "emails"}, []string{"job_a07"}},
				{Filter{States: []string{"dead", "scheduled"}, Kind: "stripe_event", Since: minute(5)}, []string{"job_a09"}},
			} {
				recs, next, err := sa.jobList(ctx, store.Page{}, c.f)
				if err != nil || next != "" || !slices.Equal(ids(recs), c.want) {
					return fmt.Errorf("filter %+v: %v %v %q, want %v", c.f, err, ids(recs), next, c.want)
				}
			}
			// A filtered listing pages too.
			recs, next, err := sa.jobList(ctx, store.Page{Limit: 1}, Filter{States: []string{"dead"}})
			if err != nil || !slices.Equal(ids(recs), []string{"job_a08"}) || next == "" {
				return fmt.Errorf("filtered page 1: %v %v %q", err, ids(recs), next)
			}
			recs, next, err = sa.jobList(ctx, store.Page{Limit: 1, Cursor: next}, Filter{States: []string{"dead"}})
			if err != nil || !slices.Equal(ids(recs), []string{"job_a07"}) || next != "" {
				return fmt.Errorf("filtered page 2: %v %v %q", err, ids(recs), next)
			}
			if _, _, err := sa.jobList(ctx, store.Page{}, Filter{States: []string{"lost"}}); err == nil {
				return errors.New("an unknown state listed")
			}
			if _, _, err := sa.jobList(ctx, store.Page{Cursor: "nonsense"}, Filter{}); !errors.Is(err, store.ErrBadCursor) {
				return fmt.Errorf("bad cursor: %v", err)
			}
			// B's listing holds only B's jobs, 50 a page.
			recs, next, err = scope{tx.Tenant(b)}.jobList(ctx, store.Page{}, Filter{})
			if err != nil || len(recs) != 50 || recs[0].ID != "job_b119" || next == "" {
				return fmt.Errorf("B's first page: %v %d %q", err, len(recs), next)
			}
			recs, _, err = scope{tx.Tenant(b)}.jobList(ctx, store.Page{}, Filter{Kind: "http_push"})
			if err != nil || len(recs) != 0 {
				return fmt.Errorf("B lists A's kind: %v %v", err, ids(recs))
			}
			return nil
		})

		// Counts by user state, every state present.
		read(func(tx *store.Tx) error {
			got, err := scope{tx.Tenant(a)}.jobCounts(ctx)
			want := map[string]int{"scheduled": 2, "available": 1, "running": 1, "retrying": 1, "completed": 1, "cancelled": 1, "dead": 2}
			if err != nil || !maps.Equal(got, want) {
				return fmt.Errorf("A's counts %v %v, want %v", err, got, want)
			}
			got, err = scope{tx.Tenant(b)}.jobCounts(ctx)
			want = map[string]int{"scheduled": 0, "available": 0, "running": 0, "retrying": 0, "completed": 120, "cancelled": 0, "dead": 0}
			if err != nil || !maps.Equal(got, want) {
				return fmt.Errorf("B's counts %v %v, want %v", err, got, want)
			}
			return nil
		})

		// Attempts: listed in order; another tenant can neither add nor read them.
		err = db.Write(ctx, func(tx *store.Tx) error {
			sa, sb := scope{tx.Tenant(a)}, scope{tx.Tenant(b)}
			for _, at := range []Attempt{
				{JobID: "job_a04", Attempt: 2, StartedAt: minute(20), DurationMS: 12, Status: 200, ResponseBody: "ok", Node: "n1"},
				{JobID: "job_a04", Attempt: 1, StartedAt: minute(10), DurationMS: 30000, Error: "timeout", Node: "n2"},
			} {
				if err := sa.jobAttemptInsert(ctx, at); err != nil {
					return err
				}
			}
			if err := sb.jobAttemptInsert(ctx, Attempt{JobID: "job_a04", Attempt: 3, StartedAt: minute(30)}); err != nil {
				return err
			}
			// Nor can B mark A's job dead.
			return sb.jobSetDeadReason(ctx, "job_a06", "gone")
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := storetest.Count(t, db, "job_attempts"); n != 2 {
			t.Fatalf("%d attempts stored, want 2 (B's insert into A's job stores nothing)", n)
		}
		read(func(tx *store.Tx) error {
			got, err := scope{tx.Tenant(a)}.jobAttempts(ctx, "job_a04")
			want := []Attempt{
				{JobID: "job_a04", Attempt: 1, StartedAt: minute(10), DurationMS: 30000, Error: "timeout", Node: "n2"},
				{JobID: "job_a04", Attempt: 2, StartedAt: minute(20), DurationMS: 12, Status: 200, ResponseBody: "ok", Node: "n1"},
			}
			if err != nil || len(got) != 2 {
				return fmt.Errorf("attempts: %v %+v", err, got)
			}
			for i := range got {
				if !got[i].StartedAt.Equal(want[i].StartedAt) {
					return fmt.Errorf("attempt %d started %v, want %v", i, got[i].StartedAt, want[i].StartedAt)
				}
				got[i].StartedAt = want[i].StartedAt
				if got[i] != want[i] {
					return fmt.Errorf("attempt %d: %+v, want %+v", i, got[i], want[i])
				}
			}
			if got, err := (scope{tx.Tenant(b)}).jobAttempts(ctx, "job_a04"); err != nil || len(got) != 0 {
				return fmt.Errorf("B reads A's attempts: %v %+v", err, got)
			}
			if j, err := (scope{tx.Tenant(a)}).jobGet(ctx, "job_a06"); err != nil || j.DeadReason != "" {
				return fmt.Errorf("B marked A's job dead: %v %+v", err, j)
			}
			return nil
		})

		// Stats count every tenant's jobs by state and queue; lag is the age
		// of the oldest available River job per queue (none in the future).
		if err := db.Write(ctx, func(tx *store.Tx) error {
			return riverRow(ctx, tx, 500, "noop", "later", "available", minute(120))
		}); err != nil {
			t.Fatal(err)
		}
		read(func(tx *store.Tx) error {
			counts, lag, err := jobStats(ctx, tx, minute(60))
			if err != nil {
				return err
			}
			want := map[[2]string]int{
				{"available", "default"}: 1, {"scheduled", "default"}: 2, {"running", "emails"}: 1, {"retrying", "default"}: 1,
				{"completed", "default"}: 121, {"cancelled", "default"}: 1, {"dead", "emails"}: 1, {"dead", "default"}: 1,
			}
			if !maps.Equal(counts, want) {
				return fmt.Errorf("stats %v, want %v", counts, want)
			}
			if !maps.Equal(lag, map[string]time.Duration{"default": 59 * time.Minute}) {
				return fmt.Errorf("lag %v, want default 59m", lag)
			}
			return nil
		})

		// Purge deletes joist's rows whose River row is gone, once old enough.
		var purged [2]int64
		err = db.Write(ctx, func(tx *store.Tx) error {
			if _, err := tx.Exec(ctx, "DELETE FROM river_job WHERE id = 5"); err != nil {
				return err
			}
			var err error
			if purged[0], err = jobPurgeOrphans(ctx, tx, minute(5)); err != nil {
				return err
			}
			purged[1], err = jobPurgeOrphans(ctx, tx, minute(60))
			return err
		})
		if err != nil || purged != [2]int64{0, 1} {
			t.Fatalf("purged %v %v, want 0 (created at the bound) then 1", err, purged)
		}
		if n := storetest.Count(t, db, "jobs"); n != 128 {
			t.Fatalf("%d jobs after purge, want 128", n)
		}
		read(func(tx *store.Tx) error {
			if _, err := (scope{tx.Tenant(a)}).jobGet(ctx, "job_a05"); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("purged job: %v", err)
			}
			return nil
		})
	}, Migrations())
}

func TestSigningSecretStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := storetest.Tenant(t, db, "acme").ID
		t1, t2 := minute(10), minute(40)
		live := func(tenantID string, now time.Time) []string {
			t.Helper()
			var out []string
			err := db.Read(ctx, func(tx *store.Tx) error {
				list, err := signingSecretsLive(ctx, tx, tenantID, now)
				for _, s := range list {
					if s.TenantID != tenantID {
						return fmt.Errorf("secret %s of tenant %q listed for %q", s.ID, s.TenantID, tenantID)
					}
					out = append(out, s.ID+"="+s.SecretEnc)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		rotate := func(s signingSecret, expireOld time.Time) {
			t.Helper()
			if err := db.Write(ctx, func(tx *store.Tx) error { return signingSecretRotate(ctx, tx, s, s.CreatedAt, expireOld) }); err != nil {
				t.Fatal(err)
			}
		}
		if got := live(a, base); len(got) != 0 {
			t.Fatalf("live before any: %v", got)
		}
		rotate(signingSecret{ID: "whs_1", TenantID: a, SecretEnc: "one", CreatedAt: base}, base)
		rotate(signingSecret{ID: "whs_2", TenantID: a, SecretEnc: "two", CreatedAt: t1}, t1.Add(time.Hour))
		if got := live(a, t1); !slices.Equal(got, []string{"whs_2=two", "whs_1=one"}) {
			t.Fatalf("live during the rotation: %v", got)
		}
		if got := live(a, t1.Add(time.Hour)); !slices.Equal(got, []string{"whs_2=two"}) {
			t.Fatalf("live after the old one expired: %v", got)
		}
		// The instance's secrets ("") are apart from the tenant's.
		if got := live("", t1); len(got) != 0 {
			t.Fatalf("instance secrets: %v", got)
		}
		rotate(signingSecret{ID: "whs_3", TenantID: "", SecretEnc: "three", CreatedAt: t1}, t1)
		if got := live("", t1); !slices.Equal(got, []string{"whs_3=three"}) {
			t.Fatalf("instance secrets: %v", got)
		}
		if got := live(a, t1); !slices.Equal(got, []string{"whs_2=two", "whs_1=one"}) {
			t.Fatalf("the instance's rotation touched the tenant's: %v", got)
		}
		// Rotating with no grace expires every other secret at once.
		rotate(signingSecret{ID: "whs_4", TenantID: a, SecretEnc: "four", CreatedAt: t2}, t2)
		if got := live(a, t2); !slices.Equal(got, []string{"whs_4=four"}) {
			t.Fatalf("live after an immediate rotation: %v", got)
		}
		err := db.Read(ctx, func(tx *store.Tx) error {
			list, err := signingSecretsLive(ctx, tx, a, base)
			// At base every secret was live; the last rotation set every
			// other one's expiry to t2 (whs_1's from t1+1h, whs_2's from none).
			if err != nil || len(list) != 3 || list[0].ID != "whs_4" || list[0].ExpiresAt != nil {
				return fmt.Errorf("secrets at base: %v %+v", err, list)
			}
			for _, s := range list[1:] {
				if s.ExpiresAt == nil || !s.ExpiresAt.Equal(t2) {
					return fmt.Errorf("secret %s expires %v, want %v", s.ID, s.ExpiresAt, t2)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}, Migrations())
}

// TestUserStates: every River state maps to one of the states users see.
func TestUserStates(t *testing.T) {
	t.Parallel()
	for _, rs := range rivertype.JobStates() {
		for _, dead := range []string{"", "gone"} {
			if st := userState(string(rs), dead); !slices.Contains(AllStates, st) {
				t.Errorf("%s/%q maps to %s, not a user state", rs, dead, st)
			}
		}
	}
}
