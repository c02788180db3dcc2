package app_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/joist-dev/joist/internal/app"
	"github.com/joist-dev/joist/internal/config"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/signing"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/store/storetest"
)

// The fixture's fixed inputs (testdata/upgrade/README.md). None is a real secret.
const (
	fixtureDir        = "testdata/upgrade"
	fixtureSchema     = "joist_upgrade_fixture" // the schema name postgres.sql was dumped from
	fixtureSecretKey  = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	fixtureRootKey    = "root_upgrade_fixture_key_0123456789abcdef"
	fixtureOwnerEmail = "owner@example.com"
	fixtureOwnerPass  = "correct horse battery staple"
	fixtureSupport    = "support@example.com"
	fixtureSupportPw  = "support staff password 42"
	// Every push job of the fixture targets this closed port (see prepareFixture).
	fixtureClosedTarget = "http://127.0.0.1:9/"
	fixtureStdSecret    = "whsec_dXBncmFkZS1maXh0dXJlLXN0YW5kYXJkLXNlY3JldCE="
	fixtureStdMsgID     = "msg_upgrade_fixture_0001"
	fixtureStdBody      = `{"type":"user.updated","data":{"user_id":"user_42","plan":"pro"}}`
	fixtureStripeSecret = "whsec_upgrade_fixture_stripe_secret_0123"
	fixtureStripeBody   = `{"id":"evt_UpgradeFixture0001","object":"event","type":"customer.subscription.created","created":1767225600,"livemode":true,"api_version":"2025-03-31.basil","data":{"object":{"id":"sub_UpgradeFixture0001","object":"subscription","customer":"cus_UpgradeFixture0001","status":"active","cancel_at_period_end":false,"cancel_at":null,"canceled_at":null,"trial_end":null,"latest_invoice":"in_UpgradeFixture0001","metadata":{"joist_contact":"user_42"},"items":{"object":"list","data":[{"id":"si_UpgradeFixture0001","current_period_end":1893456000,"quantity":3,"price":{"id":"price_UpgradePro","nickname":"Pro","product":"prod_UpgradePro"}}]}}}}`
	// The body job_push_retrying was enqueued with, byte for byte, under
	// Idempotency-Key fixture-push-retrying.
	fixtureRetryingRequest = `{"url":"http://127.0.0.1:9/upgrade/push","body":{"fixture":"retrying"},"max_attempts":25}`
)

// TestUpgradeFromSingleSequenceLedger starts the current joist on databases
// an old one (commit 3e3f61e, one numbered sequence in joist_migrations) made
// through its API, and proves that nothing was lost: every object answers
// through the API as it was stored, the pending jobs run, the scheduled ones
// wait, the ledger moved to joist_schema and an old binary is refused, and
// the upgraded schema is exactly the one a fresh database gets.
func TestUpgradeFromSingleSequenceLedger(t *testing.T) {
	fx := readFixtureReadme(t)
	storetest.EachStore(t, func(t *testing.T, opts store.Options) {
		ctx := context.Background()
		d := store.SQLite
		if opts.URL != "" {
			d = store.Postgres
		}
		ids := fx.ids[d]
		tg := newTarget(t)

		loadFixture(t, d, opts)
		pre := prepareFixture(t, d, opts, ids, tg.srv.URL+"/")

		env := startUpgraded(t, d, opts)
		db := env.app.DB
		if b := env.app.Bootstrap; b.RootKey != "" || b.OwnerEmail != "" || b.OwnerPassword != "" {
			t.Fatalf("the upgrade bootstrapped new credentials (%+v): the fixture's root key and owner must be enough", b)
		}

		t.Run("ledger", func(t *testing.T) {
			checkLedger(t, d, db, pre.legacy)
			// Nothing was added or lost by the upgrade itself (before any
			// job ran): the same rows in every table, the old ledger aside.
			after := storetest.Snapshot(t, db)
			before := pre.snapshot
			if before["joist_migrations"] != len(pre.legacy) || after["joist_schema"] == 0 {
				t.Fatalf("ledgers: %d legacy rows before, %d joist_schema rows after", before["joist_migrations"], after["joist_schema"])
			}
			if _, ok := after["joist_migrations"]; ok {
				t.Fatal("joist_migrations is still a table")
			}
			delete(before, "joist_migrations")
			delete(after, "joist_schema")
			storetest.Unchanged(t, before, after)
		})

		env.start(t)
		c := &apiClient{base: env.url}

		t.Run("objects", func(t *testing.T) {
			checkObjects(t, c, ids, fx.audit)
		})
		t.Run("webhook secrets and dedup keys", func(t *testing.T) {
			checkIngestDedup(t, c, ids)
		})
		t.Run("admin login", func(t *testing.T) {
			checkAdminLogin(t, env.url)
		})
		t.Run("jobs", func(t *testing.T) {
			checkJobs(t, c, tg, ids, pre.idempotencyLive)
		})
		t.Run("key revocation", func(t *testing.T) {
			// The fixture's revoked key cannot be tried: the script kept only
			// its id (the plain key of the active one alone is recorded). So
			// revoke the fixture's active key now, last of all its uses: a key
			// made before the upgrade stops authenticating once revoked.
			status, _, b := c.do(t, http.MethodDelete, "/v1/tenants/acme/keys/"+ids["key_acme_id"], fixtureRootKey, "", "")
			if status/100 != 2 {
				t.Fatalf("revoke the fixture's acme key: %d %s", status, b)
			}
			if status, _, b := c.do(t, http.MethodGet, "/v1/contacts/user_42", ids["key_acme"], "", ""); status != http.StatusUnauthorized {
				t.Errorf("the revoked fixture key: %d %s, want 401", status, b)
			}
		})
		t.Run("older binary refused", func(t *testing.T) {
			err := oldBinaryStart(ctx, db)
			if err == nil || !strings.Contains(err.Error(), "this database was upgraded by a newer joist (its migrations are in joist_schema): run that version or a newer one") {
				t.Fatalf("the old binary's first statements on the upgraded database: got %v, want the refusal", err)
			}
			// And this binary starts again on it: nothing to move or apply.
			res, err := db.Migrate(ctx, app.Migrations()...)
			if err != nil || res.Upgraded || len(res.Applied) != 0 {
				t.Fatalf("second migrate of the upgraded database: %+v %v", res, err)
			}
		})
		t.Run("fresh schema equals upgraded schema", func(t *testing.T) {
			fresh := freshDatabase(t, d)
			var got, want []string
			if d == store.SQLite {
				got, want = describeSQLite(t, db), describeSQLite(t, fresh.db)
			} else {
				got, want = describePostgres(t, opts.URL, opts.Schema), describePostgres(t, opts.URL, fresh.schema)
			}
			t.Logf("%s: %d schema objects compared", d, len(got))
			if diff := lineDiff(want, got); diff != "" {
				t.Errorf("the upgraded %s schema differs from a fresh one (- fresh, + upgraded):\n%s", d, diff)
			}
		})
	})
}

// --- The fixture --------------------------------------------------------------------

type fixtureReadme struct {
	ids   map[store.Dialect]map[string]string // per store: fixture name -> id or value
	audit map[string]int                      // "action (actor type)" -> count
}

var (
	readmeRow   = regexp.MustCompile("^\\| (.+?) \\| `([^`]+)` \\|")
	readmeName  = regexp.MustCompile("`([^`]+)`")
	readmeAudit = regexp.MustCompile("`([a-z_.]+ \\([a-z]+\\))` ×([0-9]+)")
)

// readFixtureReadme reads the ids the fixture script recorded (they change
// on every regeneration) and the audit log it counted.
func readFixtureReadme(t *testing.T) fixtureReadme {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	fx := fixtureReadme{ids: map[store.Dialect]map[string]string{store.SQLite: {}, store.Postgres: {}}, audit: map[string]int{}}
	var section map[string]string
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "## SQLite ids"):
			section = fx.ids[store.SQLite]
		case strings.HasPrefix(line, "## PostgreSQL ids"):
			section = fx.ids[store.Postgres]
		case strings.HasPrefix(line, "## "):
			section = nil
		}
		if m := readmeRow.FindStringSubmatch(line); m != nil && section != nil {
			name := ""
			if strings.HasPrefix(m[1], "acme signing secret") {
				name = "signing_secret"
			} else if n := readmeName.FindStringSubmatch(m[1]); n != nil {
				name = n[1]
			}
			if name != "" {
				section[name] = m[2]
			}
		}
		for _, m := range readmeAudit.FindAllStringSubmatch(line, -1) {
			n, _ := strconv.Atoi(m[2])
			fx.audit[m[1]] = n
		}
	}
	need := []string{"tenant_acme", "tenant_globex", "key_acme_id", "key_acme_revoked_id", "key_acme", "signing_secret",
		"operator_support", "contact_acme_user_42", "contact_acme_user_43", "contact_globex_user_7",
		"schedule_daily_report", "schedule_weekly_digest", "source_acme_standard", "source_acme_stripe", "source_instance_stripe",
		"event_standard", "event_stripe_subscription", "event_stripe_invoice",
		"job_push_retrying", "job_push_scheduled", "job_push_unique", "job_forward", "job_globex_cancelled"}
	for d, m := range fx.ids {
		for _, n := range need {
			if m[n] == "" {
				t.Fatalf("%s/README.md: no %s id for %s", fixtureDir, n, d)
			}
		}
	}
	if len(fx.audit) == 0 {
		t.Fatalf("%s/README.md: no audit log counts", fixtureDir)
	}
	return fx
}

// loadFixture puts the old binary's database where opts points: the SQLite
// file, or the dump executed into opts' fresh schema.
func loadFixture(t *testing.T, d store.Dialect, opts store.Options) {
	t.Helper()
	if d == store.SQLite {
		b, err := os.ReadFile(filepath.Join(fixtureDir, "sqlite", "joist.db"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(opts.SQLitePath, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(filepath.Join(fixtureDir, "postgres.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("CREATE SCHEMA IF NOT EXISTS "+fixtureSchema+";")) {
		t.Fatalf("postgres.sql does not create schema %s", fixtureSchema)
	}
	dump := strings.ReplaceAll(string(b), fixtureSchema, opts.Schema)
	// The dump empties search_path (and sets other session settings) for
	// the connection running it: a connection of its own, closed after.
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(opts.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, dump); err != nil {
		t.Fatalf("load postgres.sql into %s: %v", opts.Schema, err)
	}
}

type legacyMigration struct {
	version   int
	name      string
	appliedAt string
}

type prepared struct {
	legacy          []legacyMigration // the old ledger, joist_migrations
	snapshot        map[string]int    // rows per table before the upgrade
	idempotencyLive bool              // job_push_retrying's Idempotency-Key record has not expired
}

// prepareFixture points the fixture's push jobs at target and its two
// delayed jobs an hour and two ahead again, and reads what the upgrade must
// keep: the old ledger and the row count of every table.
func prepareFixture(t *testing.T, d store.Dialect, opts store.Options, ids map[string]string, target string) prepared {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var p prepared
	err = db.Write(ctx, func(tx *store.Tx) error {
		// The fixture's push jobs target http://127.0.0.1:9/ on purpose: the
		// old binary found that port closed, so they failed and stayed
		// pending (retrying, scheduled) instead of completing before the
		// dump. Nothing can listen on port 9 here, so the test points them
		// at its own server instead: in joist's jobs.url (what the API shows)
		// and in River's args (what the worker calls). The ids, bodies,
		// headers, attempts and states are left as the old binary stored them.
		n1, err := tx.Exec(ctx, "UPDATE jobs SET url = replace(url, ?, ?) WHERE url LIKE ?", fixtureClosedTarget, target, fixtureClosedTarget+"%")
		if err != nil {
			return err
		}
		q := `UPDATE river_job SET args = jsonb_set(args, '$.url', replace(json_extract(args, '$.url'), ?, ?))
			WHERE json_extract(args, '$.url') LIKE ?` // River keeps args as SQLite JSONB
		if d == store.Postgres {
			q = `UPDATE river_job SET args = jsonb_set(args, '{url}', to_jsonb(replace(args->>'url', ?, ?)))
				WHERE args->>'url' LIKE ?`
		}
		n2, err := tx.Exec(ctx, q, fixtureClosedTarget, target, fixtureClosedTarget+"%")
		if err != nil {
			return err
		}
		if n1 != 5 || n2 != 5 {
			return fmt.Errorf("pointed %d jobs and %d River jobs at the test server, want the fixture's 5 push jobs", n1, n2)
		}
		// Times are real (README): the two delayed jobs were due an hour and
		// two after the fixture was made, so on an older fixture they would be
		// due already. Due again an hour and two from now, they must stay
		// scheduled through the whole test, and the unique one keeps its key
		// taken (scheduled is one of the states unique_key deduplicates in).
		for job, delay := range map[string]int{ids["job_push_scheduled"]: 3600, ids["job_push_unique"]: 7200} {
			q := "UPDATE river_job SET scheduled_at = datetime('now', 'subsec', ?) WHERE state = 'scheduled' AND id = (SELECT river_id FROM jobs WHERE id = ?)"
			arg := fmt.Sprintf("+%d seconds", delay)
			if d == store.Postgres {
				q = "UPDATE river_job SET scheduled_at = now() + ?::interval WHERE state = 'scheduled' AND id = (SELECT river_id FROM jobs WHERE id = ?)"
				arg = fmt.Sprintf("%d seconds", delay)
			}
			if n, err := tx.Exec(ctx, q, arg, job); err != nil || n != 1 {
				return fmt.Errorf("reschedule %s: %d rows, %v", job, n, err)
			}
		}
		rows, err := tx.Query(ctx, "SELECT version, name, applied_at FROM joist_migrations ORDER BY version")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m legacyMigration
			if err := rows.Scan(&m.version, &m.name, &m.appliedAt); err != nil {
				return err
			}
			p.legacy = append(p.legacy, m)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		var expires time.Time
		if err := tx.QueryRow(ctx, "SELECT expires_at FROM idempotency_keys WHERE key = ?", "fixture-push-retrying").Scan(&expires); err != nil {
			return fmt.Errorf("the fixture's idempotency record: %w", err)
		}
		p.idempotencyLive = time.Until(expires) > time.Minute
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.legacy) != 8 {
		t.Fatalf("the fixture's joist_migrations holds %d migrations, want the 8 of the single sequence", len(p.legacy))
	}
	p.snapshot = storetest.Snapshot(t, db)
	return p
}

// --- The upgraded joist -------------------------------------------------------------

type upgraded struct {
	app *app.App
	ln  net.Listener
	url string
}

// startUpgraded runs app.New on the fixture (which migrates it) with the
// fixture's keys, configured as internal/apptest does.
func startUpgraded(t *testing.T, d store.Dialect, opts store.Options) *upgraded {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Addr = ln.Addr().String()
	cfg.DataDir = t.TempDir()
	if d == store.SQLite {
		cfg.DataDir = filepath.Dir(opts.SQLitePath) // joist.db is there
	}
	cfg.DatabaseURL, cfg.DatabaseSchema = opts.URL, opts.Schema
	cfg.SecretKey = fixtureSecretKey // decrypts the stored signing and source secrets
	cfg.RootKey = fixtureRootKey     // the fixture stores no root key
	// The fixture's rows are as old as the fixture: nothing may be purged
	// for its age while the test runs.
	const decade = 10 * 365 * 24 * time.Hour
	cfg.WebhookRetention, cfg.CompletedJobRetention, cfg.DeadJobRetention = decade, decade, decade
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	level := slog.LevelWarn
	if os.Getenv("JOIST_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level}))
	a, err := app.New(context.Background(), cfg, log)
	if err != nil {
		ln.Close()
		t.Fatalf("app.New on the old binary's database: %v", err)
	}
	t.Cleanup(a.Stop)
	return &upgraded{app: a, ln: ln}
}

func (u *upgraded) start(t *testing.T) {
	t.Helper()
	if err := u.app.Start(context.Background(), u.ln); err != nil {
		t.Fatalf("start: %v", err)
	}
	u.url = "http://" + u.app.Addr()
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// --- The ledger ---------------------------------------------------------------------

// checkLedger: joist_schema holds every migration of app.Migrations() with
// the time the old binary applied it (moved, not run again), and
// joist_migrations is now a view.
func checkLedger(t *testing.T, d store.Dialect, db *store.DB, legacy []legacyMigration) {
	t.Helper()
	ctx := context.Background()
	legacyAt := map[string]string{}
	for _, m := range legacy {
		legacyAt[m.name] = m.appliedAt
	}
	var want []string
	seen := map[string]bool{}
	newSets := map[string]bool{}
	var add func(s store.MigrationSet)
	add = func(s store.MigrationSet) {
		if seen[s.System] {
			return
		}
		seen[s.System] = true
		for _, dep := range s.After {
			add(dep)
		}
		entries, err := fs.ReadDir(s.FS, string(d))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".sql") {
				continue
			}
			v, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
			if err != nil {
				t.Fatal(err)
			}
			at, ok := legacyAt[s.Legacy[v]]
			switch {
			case !ok && len(s.Legacy) == 0:
				// A system the old binary did not have: its migrations run
				// at the upgrade, like on a fresh database.
				at, newSets[s.System] = "(run at the upgrade)", true
			case !ok:
				t.Errorf("migration %s/%s has no counterpart in the old ledger: the upgrade would have run it", s.System, e.Name())
			}
			want = append(want, fmt.Sprintf("%s %d %s %s", s.System, v, e.Name(), at))
		}
	}
	for _, s := range app.Migrations() {
		add(s)
	}
	var got []string
	var views int
	err := db.Read(ctx, func(tx *store.Tx) error {
		rows, err := tx.Query(ctx, "SELECT system, version, name, applied_at FROM joist_schema")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var sys, name, at string
			var v int
			if err := rows.Scan(&sys, &v, &name, &at); err != nil {
				return err
			}
			if newSets[sys] {
				at = "(run at the upgrade)"
			}
			got = append(got, fmt.Sprintf("%s %d %s %s", sys, v, name, at))
		}
		if err := rows.Err(); err != nil {
			return err
		}
		q := "SELECT count(*) FROM sqlite_master WHERE type = 'view' AND name = 'joist_migrations'"
		if d == store.Postgres {
			q = "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'joist_migrations' AND table_type = 'VIEW'"
		}
		return tx.QueryRow(ctx, q).Scan(&views)
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	sort.Strings(want)
	if diff := lineDiff(want, got); diff != "" {
		t.Errorf("joist_schema (- want, + got):\n%s", diff)
	}
	if views != 1 {
		t.Errorf("joist_migrations is not a view after the upgrade")
	}
}

// oldBinaryStart runs what every joist up to the single-sequence ledger
// (3e3f61e and before) ran first at start, word for word (as in
// internal/store/migrate_test.go).
func oldBinaryStart(ctx context.Context, db *store.DB) error {
	return db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS joist_migrations (
				version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
			return err
		}
		var n int
		return tx.QueryRow(ctx, "SELECT count(*) FROM joist_migrations WHERE version = ?", 1).Scan(&n)
	})
}

// --- The API ------------------------------------------------------------------------

type apiClient struct{ base string }

// do sends a request with key as bearer (none when empty) and tenant as
// Joist-Tenant (none when empty); extra are header name, value pairs.
func (c *apiClient) do(t *testing.T, method, path, key, tenant, body string, extra ...string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if tenant != "" {
		req.Header.Set("Joist-Tenant", tenant)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, b
}

// get decodes a 200 answer of the root key (as tenant, when given) into out.
func (c *apiClient) get(t *testing.T, path, tenant string, out any) {
	t.Helper()
	status, _, b := c.do(t, http.MethodGet, path, fixtureRootKey, tenant, "")
	if status != http.StatusOK {
		t.Fatalf("GET %s (tenant %q): %d %s", path, tenant, status, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, b)
	}
}

// equal fails unless got and want are equal, naming what.
func equal[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// sameJSON fails unless raw is the JSON value want (key order aside).
func sameJSON(t *testing.T, what string, raw json.RawMessage, want string) {
	t.Helper()
	var a, b any
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Errorf("%s: %v in %s", what, err, raw)
		return
	}
	if err := json.Unmarshal([]byte(want), &b); err != nil {
		t.Fatal(err)
	}
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	if !bytes.Equal(x, y) {
		t.Errorf("%s = %s, want %s", what, raw, want)
	}
}

type page[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor"`
}

type jobView struct {
	ID            string `json:"id"`
	Kind          string `json:"kind"`
	State         string `json:"state"`
	Priority      int    `json:"priority"`
	Attempt       int    `json:"attempt"`
	MaxAttempts   int    `json:"max_attempts"`
	URL           string `json:"url"`
	Method        string `json:"method"`
	UniqueKey     string `json:"unique_key"`
	CorrelationID string `json:"correlation_id"`
	DeadReason    string `json:"dead_reason"`
	ScheduledAt   string `json:"scheduled_at"`
	Attempts      []struct {
		Attempt int    `json:"attempt"`
		Status  int    `json:"status"`
		Error   string `json:"error"`
	} `json:"attempts"`
	Deduplicated bool `json:"deduplicated"`
}

// checkObjects reads every object of the fixture back through the API.
func checkObjects(t *testing.T, c *apiClient, ids map[string]string, audit map[string]int) {
	// Tenants: the instance's own stays hidden.
	var tenants page[struct{ ID, Slug, Name string }]
	c.get(t, "/v1/tenants", "", &tenants)
	got := map[string]string{}
	for _, tn := range tenants.Data {
		got[tn.Slug] = tn.ID + " " + tn.Name
	}
	want := map[string]string{"acme": ids["tenant_acme"] + " Acme Clinic", "globex": ids["tenant_globex"] + " Globex Corporation"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("tenants %v, want %v", got, want)
	}

	// API keys: the active one still authenticates as acme (and only acme).
	var keys page[struct {
		ID        string  `json:"id"`
		Name      string  `json:"name"`
		Prefix    string  `json:"prefix"`
		RevokedAt *string `json:"revoked_at"`
	}]
	c.get(t, "/v1/tenants/acme/keys", "", &keys)
	if len(keys.Data) != 2 {
		t.Fatalf("acme keys: %+v", keys.Data)
	}
	for _, k := range keys.Data {
		switch k.ID {
		case ids["key_acme_id"]:
			equal(t, "active key name", k.Name, "upgrade fixture key")
			equal(t, "active key revoked", k.RevokedAt == nil, true)
			equal(t, "active key prefix", strings.HasPrefix(ids["key_acme"], k.Prefix), true)
		case ids["key_acme_revoked_id"]:
			equal(t, "revoked key name", k.Name, "revoked key")
			equal(t, "revoked key revoked", k.RevokedAt != nil, true)
		default:
			t.Errorf("unknown acme key %+v", k)
		}
	}
	status, _, b := c.do(t, http.MethodGet, "/v1/contacts/user_42", ids["key_acme"], "", "")
	if status != http.StatusOK || !strings.Contains(string(b), ids["contact_acme_user_42"]) {
		t.Errorf("the fixture's acme key: GET /v1/contacts/user_42 = %d %s", status, b)
	}
	if status, _, b := c.do(t, http.MethodGet, "/v1/contacts/user_7", ids["key_acme"], "", ""); status != http.StatusNotFound {
		t.Errorf("the acme key reads globex's contact: %d %s", status, b)
	}
	if status, _, b := c.do(t, http.MethodGet, "/v1/contacts/user_42", "jk_notakeyoftheupgradefixture0123456789ab", "", ""); status != http.StatusUnauthorized {
		t.Errorf("an unknown key: %d %s", status, b)
	}
	if status, _, b := c.do(t, http.MethodGet, "/v1/tenants", fixtureRootKey+"x", "", ""); status != http.StatusUnauthorized {
		t.Errorf("a wrong root key: %d %s", status, b)
	}

	// Contacts.
	for _, x := range []struct{ tenant, ext, want, metadata string }{
		{"acme", "user_42", ids["contact_acme_user_42"] + " ann@example.com|Ann Lee|en-GB|Europe/Paris", `{"plan":"pro","seats":3,"tags":["vip"]}`},
		{"acme", "user_43", ids["contact_acme_user_43"] + " bob@example.com|Bob Stone||", `{}`},
		{"globex", "user_7", ids["contact_globex_user_7"] + " gus@globex.example|Gus Grant||", `{"region":"eu"}`},
	} {
		var ct struct {
			ID       string          `json:"id"`
			Email    string          `json:"email"`
			Name     string          `json:"name"`
			Locale   string          `json:"locale"`
			Timezone string          `json:"timezone"`
			Metadata json.RawMessage `json:"metadata"`
		}
		c.get(t, "/v1/contacts/"+x.ext, x.tenant, &ct)
		equal(t, "contact "+x.tenant+"/"+x.ext, ct.ID+" "+strings.Join([]string{ct.Email, ct.Name, ct.Locale, ct.Timezone}, "|"), x.want)
		sameJSON(t, "metadata of "+x.ext, ct.Metadata, x.metadata)
	}
	var contacts page[struct {
		ExternalID string `json:"external_id"`
	}]
	c.get(t, "/v1/contacts", "acme", &contacts)
	equal(t, "acme contacts", len(contacts.Data), 2)

	// Ann's timeline: the webhook event and the billing entries.
	var rawTimeline page[map[string]any]
	c.get(t, "/v1/contacts/user_42/timeline", "acme", &rawTimeline)
	kinds := map[string]int{}
	sawEvent := false
	for _, e := range rawTimeline.Data {
		kinds[fmt.Sprint(e["kind"])]++
		if e["kind"] == "webhook.received" && e["ref_id"] == ids["event_standard"] {
			sawEvent = true
		}
	}
	if want := "map[billing.invoice_paid:1 billing.subscription_created:1 contact.created:1 webhook.received:1]"; !sawEvent || fmt.Sprint(kinds) != want {
		t.Errorf("Ann's timeline: %v (event %s seen: %v), want %s", kinds, ids["event_standard"], sawEvent, want)
	}

	// Schedules.
	var schedules page[struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Cron     string `json:"cron"`
		Timezone string `json:"timezone"`
		Missed   string `json:"missed"`
		Paused   bool   `json:"paused"`
		Job      struct {
			URL         string          `json:"url"`
			Method      string          `json:"method"`
			Body        json.RawMessage `json:"body"`
			MaxAttempts int             `json:"max_attempts"`
			Timeout     string          `json:"timeout"`
		} `json:"job"`
	}]
	c.get(t, "/v1/schedules", "acme", &schedules)
	if len(schedules.Data) != 2 {
		t.Fatalf("acme schedules: %+v", schedules.Data)
	}
	for _, s := range schedules.Data {
		line := fmt.Sprintf("%s %s %q %s %s paused=%v %s %s", s.ID, s.Name, s.Cron, s.Timezone, s.Missed, s.Paused, s.Job.URL, s.Job.Method)
		switch s.Name {
		case "daily-report": // made without a method: stored (and shown) as given
			equal(t, "daily-report", line, fmt.Sprintf("%s daily-report %q Europe/Paris skip paused=false http://127.0.0.1:9/upgrade/schedule ", ids["schedule_daily_report"], "0 9 * * 1-5"))
			sameJSON(t, "daily-report body", s.Job.Body, `{"report":"daily"}`)
		case "weekly-digest":
			equal(t, "weekly-digest", line, fmt.Sprintf("%s weekly-digest %q UTC run_once paused=true http://127.0.0.1:9/upgrade/schedule POST", ids["schedule_weekly_digest"], "@weekly"))
			sameJSON(t, "weekly-digest body", s.Job.Body, `{"digest":"weekly"}`)
			equal(t, "weekly-digest max_attempts", s.Job.MaxAttempts, 3)
			equal(t, "weekly-digest timeout", s.Job.Timeout, "10s")
		default:
			t.Errorf("unknown schedule %s", s.Name)
		}
	}

	// Webhook sources, the tenant's and the instance's.
	type source struct {
		ID         string          `json:"id"`
		Name       string          `json:"name"`
		Provider   string          `json:"provider"`
		ForwardURL string          `json:"forward_url"`
		Billing    bool            `json:"billing"`
		Settings   json.RawMessage `json:"settings"`
	}
	var sources page[source]
	c.get(t, "/v1/webhook-sources", "acme", &sources)
	gotSources := map[string]string{}
	for _, s := range sources.Data {
		gotSources[s.Name] = fmt.Sprintf("%s %s %s billing=%v", s.ID, s.Provider, s.ForwardURL, s.Billing)
		if s.Name == "standard" && !strings.Contains(string(s.Settings), "/data/user_id") {
			t.Errorf("standard source lost its contact pointer: %s", s.Settings)
		}
	}
	wantSources := map[string]string{
		"standard": ids["source_acme_standard"] + " standard_webhooks http://127.0.0.1:9/upgrade/forward billing=false",
		"stripe":   ids["source_acme_stripe"] + " stripe  billing=true",
	}
	if fmt.Sprint(gotSources) != fmt.Sprint(wantSources) {
		t.Errorf("acme webhook sources\n got %v\nwant %v", gotSources, wantSources)
	}
	var instance page[source]
	c.get(t, "/v1/webhook-sources", "", &instance)
	if len(instance.Data) != 1 || instance.Data[0].ID != ids["source_instance_stripe"] || instance.Data[0].Provider != "stripe" {
		t.Errorf("instance webhook sources: %+v", instance.Data)
	}

	// The stored Standard Webhooks event, byte for byte.
	var ev struct {
		ID              string `json:"id"`
		Source          string `json:"source"`
		ProviderEventID string `json:"provider_event_id"`
		Type            string `json:"type"`
		ForwardJobID    string `json:"forward_job_id"`
		CorrelationID   string `json:"correlation_id"`
		Body            string `json:"body"`
	}
	c.get(t, "/v1/webhook-events/"+ids["event_standard"], "acme", &ev)
	equal(t, "stored event", fmt.Sprint(ev.ID, " ", ev.Source, " ", ev.ProviderEventID, " ", ev.Type, " ", ev.ForwardJobID, " ", ev.CorrelationID),
		fmt.Sprint(ids["event_standard"], " standard ", fixtureStdMsgID, " user.updated ", ids["job_forward"], " fixture-standard-delivery"))
	equal(t, "stored event body", ev.Body, fixtureStdBody)
	var events page[struct {
		ID string `json:"id"`
	}]
	c.get(t, "/v1/webhook-events", "acme", &events)
	var evIDs []string
	for _, e := range events.Data {
		evIDs = append(evIDs, e.ID)
	}
	slices.Sort(evIDs)
	wantEv := []string{ids["event_standard"], ids["event_stripe_subscription"], ids["event_stripe_invoice"]}
	slices.Sort(wantEv)
	equal(t, "acme webhook events", strings.Join(evIDs, " "), strings.Join(wantEv, " "))

	// Billing: the subscription with its history, links and the route.
	var subs page[struct {
		ID                 string `json:"id"`
		StripeSubscription string `json:"stripe_subscription"`
		StripeCustomer     string `json:"stripe_customer"`
		Contact            string `json:"contact"`
		Livemode           bool   `json:"livemode"`
		Status             string `json:"status"`
		Quantity           int    `json:"quantity"`
		CurrentPeriodEnd   string `json:"current_period_end"`
		LatestInvoice      string `json:"latest_invoice"`
		PaymentStatus      string `json:"payment_status"`
	}]
	c.get(t, "/v1/subscriptions", "acme", &subs)
	if len(subs.Data) != 1 {
		t.Fatalf("acme subscriptions: %+v", subs.Data)
	}
	s := subs.Data[0]
	end, err := time.Parse(time.RFC3339Nano, s.CurrentPeriodEnd)
	if err != nil || !end.Equal(time.Unix(1893456000, 0)) {
		t.Errorf("current_period_end %q, want 2030-01-01", s.CurrentPeriodEnd)
	}
	equal(t, "subscription", fmt.Sprintf("%s %s %s live=%v %s %d %s %s", s.StripeSubscription, s.StripeCustomer, s.Contact, s.Livemode, s.Status, s.Quantity, s.LatestInvoice, s.PaymentStatus),
		"sub_UpgradeFixture0001 cus_UpgradeFixture0001 user_42 live=true active 3 in_UpgradeFixture0001 paid")
	var sub struct {
		History []struct {
			StripeEventID string `json:"stripe_event_id"`
			Type          string `json:"type"`
		} `json:"history"`
	}
	c.get(t, "/v1/subscriptions/"+s.StripeSubscription, "acme", &sub)
	var hist []string
	for _, h := range sub.History {
		hist = append(hist, h.StripeEventID+" "+h.Type)
	}
	slices.Sort(hist)
	equal(t, "subscription history", strings.Join(hist, ", "),
		"evt_UpgradeFixture0001 customer.subscription.created, evt_UpgradeFixture0002 invoice.paid")
	type customer struct {
		StripeCustomer string `json:"stripe_customer"`
		Tenant         string `json:"tenant"`
		Contact        string `json:"contact"`
		LinkSource     string `json:"link_source"`
	}
	for _, x := range []struct{ tenant, customer, want string }{
		{"acme", "cus_UpgradeFixture0001", "cus_UpgradeFixture0001 tenant= contact=user_42 metadata"},
		{"acme", "cus_UpgradeFixture0002", "cus_UpgradeFixture0002 tenant= contact=user_43 api"},
		{"globex", "cus_UpgradeFixture0003", "cus_UpgradeFixture0003 tenant= contact=user_7 api"},
		{"", "cus_UpgradeFixture0003", "cus_UpgradeFixture0003 tenant=globex contact= api"}, // the instance's route
	} {
		var cu customer
		c.get(t, "/v1/billing/customers/"+x.customer, x.tenant, &cu)
		equal(t, "billing customer "+x.customer+" of "+x.tenant, fmt.Sprintf("%s tenant=%s contact=%s %s", cu.StripeCustomer, cu.Tenant, cu.Contact, cu.LinkSource), x.want)
	}

	// Signing secret: decrypted with the fixture's secret key.
	var secrets page[struct{ ID, Secret string }]
	c.get(t, "/v1/signing-secret", "acme", &secrets)
	if len(secrets.Data) != 1 || secrets.Data[0].ID+" "+secrets.Data[0].Secret != ids["signing_secret"] {
		t.Errorf("acme signing secrets %+v, want %s", secrets.Data, ids["signing_secret"])
	}

	// The audit log, entry by entry as the README counted it.
	gotAudit := map[string]int{}
	cursor := ""
	for range 100 {
		var p page[struct {
			Action    string `json:"action"`
			ActorType string `json:"actor_type"`
		}]
		c.get(t, "/v1/audit?limit=100&cursor="+url.QueryEscape(cursor), "", &p)
		for _, e := range p.Data {
			gotAudit[e.Action+" ("+e.ActorType+")"]++
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if fmt.Sprint(gotAudit) != fmt.Sprint(audit) {
		t.Errorf("audit log\n got %v\nwant %v (README)", gotAudit, audit)
	}
}

// checkIngestDedup redelivers the fixture's webhooks, signed with the
// sources' secrets: they verify (the secrets decrypt) and are recognised as
// the events already stored (the dedup keys survived), so nothing new is
// stored or forwarded.
func checkIngestDedup(t *testing.T, c *apiClient, ids map[string]string) {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sig, err := signing.Signature(fixtureStdSecret, fixtureStdMsgID, time.Now(), []byte(fixtureStdBody))
	if err != nil {
		t.Fatal(err)
	}
	status, _, b := c.do(t, http.MethodPost, "/in/acme/standard", "", "", fixtureStdBody,
		"webhook-id", fixtureStdMsgID, "webhook-timestamp", ts, "webhook-signature", sig)
	var res struct {
		ID        string `json:"id"`
		Duplicate bool   `json:"duplicate"`
	}
	if err := json.Unmarshal(b, &res); status != http.StatusOK || err != nil || !res.Duplicate || res.ID != ids["event_standard"] {
		t.Errorf("Standard Webhooks redelivery: %d %s, want the stored event %s as a duplicate", status, b, ids["event_standard"])
	}

	m := hmac.New(sha256.New, []byte(fixtureStripeSecret))
	m.Write([]byte(ts + "." + fixtureStripeBody))
	status, _, b = c.do(t, http.MethodPost, "/in/acme/stripe", "", "", fixtureStripeBody,
		"Stripe-Signature", "t="+ts+",v1="+hex.EncodeToString(m.Sum(nil)))
	res.ID, res.Duplicate = "", false
	if err := json.Unmarshal(b, &res); status != http.StatusOK || err != nil || !res.Duplicate || res.ID != ids["event_stripe_subscription"] {
		t.Errorf("Stripe redelivery: %d %s, want the stored event %s as a duplicate", status, b, ids["event_stripe_subscription"])
	}

	// A wrong signature is still refused: the duplicate answers above are
	// not a verification that lets anything through.
	status, _, b = c.do(t, http.MethodPost, "/in/acme/standard", "", "", fixtureStdBody,
		"webhook-id", fixtureStdMsgID, "webhook-timestamp", ts, "webhook-signature", "v1,bm90IHRoZSBzaWduYXR1cmU=")
	if status == http.StatusOK {
		t.Errorf("a badly signed redelivery was accepted: %s", b)
	}
}

// checkAdminLogin logs in to the dashboard with the fixture's operators, the
// way a browser without JavaScript does (internal/admin's test client).
func checkAdminLogin(t *testing.T, base string) {
	csrfRE := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	login := func(email, password string) (*http.Client, int, string) {
		t.Helper()
		jar, err := cookiejar.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := hc.Get(base + "/admin/login")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		m := csrfRE.FindSubmatch(page)
		if res.StatusCode != http.StatusOK || m == nil {
			t.Fatalf("GET /admin/login: %d, no csrf field", res.StatusCode)
		}
		res, err = hc.PostForm(base+"/admin/login", url.Values{"csrf": {string(m[1])}, "email": {email}, "password": {password}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return hc, res.StatusCode, res.Header.Get("Location")
	}
	page := func(hc *http.Client, path string) (int, string) {
		t.Helper()
		res, err := hc.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}

	owner, status, loc := login(fixtureOwnerEmail, fixtureOwnerPass)
	if status != http.StatusSeeOther || loc != "/admin/" {
		t.Fatalf("owner login: %d to %q", status, loc)
	}
	if status, body := page(owner, "/admin/tenants"); status != http.StatusOK || !strings.Contains(body, "Acme Clinic") || !strings.Contains(body, "Globex Corporation") {
		t.Errorf("owner's /admin/tenants: %d, lacks a tenant:\n%s", status, body)
	}
	support, status, loc := login(fixtureSupport, fixtureSupportPw)
	if status != http.StatusSeeOther || loc != "/admin/" {
		t.Fatalf("support login: %d to %q", status, loc)
	}
	if status, _ := page(support, "/admin/tenants/acme"); status != http.StatusOK {
		t.Errorf("support's acme page: %d", status)
	}
	if status, _ := page(support, "/admin/tenants/globex"); status == http.StatusOK {
		t.Errorf("support (acme only) sees globex")
	}
	if _, status, _ := login(fixtureOwnerEmail, fixtureOwnerPass+"!"); status != http.StatusUnauthorized {
		t.Errorf("owner login with a wrong password: %d", status)
	}
}

// --- Jobs ---------------------------------------------------------------------------

// target is the app the fixture's push jobs call once pointed at it.
type target struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []delivery
}

type delivery struct {
	method, path string
	header       http.Header
	body         []byte
	at           time.Time
}

func newTarget(t *testing.T) *target {
	tg := &target{}
	tg.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		tg.mu.Lock()
		tg.got = append(tg.got, delivery{r.Method, r.URL.Path, r.Header.Clone(), b, time.Now()})
		tg.mu.Unlock()
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(tg.srv.Close)
	return tg
}

func (tg *target) deliveries() []delivery {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return slices.Clone(tg.got)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last: %s", what, timeout, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkJobs: the jobs the old binary left retrying run to completion against
// the test server, signed with the tenant's surviving secret; the delayed
// ones wait; the cancelled and completed ones stay so; unique_key and the
// Idempotency-Key record still answer with the old jobs.
func checkJobs(t *testing.T, c *apiClient, tg *target, ids map[string]string, idempotencyLive bool) {
	secret := strings.Fields(ids["signing_secret"])[1]
	job := func(id, tenant string) jobView {
		t.Helper()
		var j jobView
		c.get(t, "/v1/jobs/"+id, tenant, &j)
		return j
	}
	for _, x := range []struct{ name, path string }{{"job_push_retrying", "/upgrade/push"}, {"job_forward", "/upgrade/forward"}} {
		id := ids[x.name]
		var j jobView
		waitFor(t, x.name+" completed", 45*time.Second, func() (bool, string) {
			j = job(id, "acme")
			return j.State == "completed", fmt.Sprintf("%+v", j)
		})
		if j.URL != tg.srv.URL+x.path {
			t.Errorf("%s url %s", x.name, j.URL)
		}
		// The old binary's four failed attempts are kept, and one more made it.
		if j.Attempt != 5 || len(j.Attempts) != 5 || j.Attempts[4].Status != 200 || j.Attempts[0].Status != 0 || j.Attempts[0].Error == "" {
			t.Errorf("%s attempts: attempt %d, %+v", x.name, j.Attempt, j.Attempts)
		}
	}
	byPath := map[string][]delivery{}
	for _, g := range tg.deliveries() {
		byPath[g.method+" "+g.path] = append(byPath[g.method+" "+g.path], g)
	}
	push, fwd := byPath["POST /upgrade/push"], byPath["POST /upgrade/forward"]
	if len(push) != 1 || len(fwd) != 1 || len(byPath) != 2 {
		t.Fatalf("the test server got %d pushes and %d forwards, and %d kinds of request; want one each: %v", len(push), len(fwd), len(byPath), byPath)
	}
	check := func(what string, g delivery, body, webhookID string, headers ...string) {
		t.Helper()
		if string(g.body) != body {
			t.Errorf("%s body %q, want %q", what, g.body, body)
		}
		if got := g.header.Get("webhook-id"); got != webhookID {
			t.Errorf("%s webhook-id %q, want %q", what, got, webhookID)
		}
		if err := signing.Verify(secret, g.header, g.body, g.at, 5*time.Minute); err != nil {
			t.Errorf("%s: the signature does not verify with the fixture's signing secret: %v (%v)", what, err, g.header)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			if got := g.header.Get(headers[i]); got != headers[i+1] {
				t.Errorf("%s header %s = %q, want %q", what, headers[i], got, headers[i+1])
			}
		}
	}
	check("retrying push", push[0], `{"fixture":"retrying"}`, ids["job_push_retrying"],
		"Joist-Correlation-Id", "fixture-push-retrying", "Joist-Job-Id", ids["job_push_retrying"], "Joist-Attempt", "5", "Content-Type", "application/json")
	check("forward", fwd[0], fixtureStdBody, ids["event_standard"],
		"Joist-Job-Id", ids["job_forward"], "Joist-Event-Id", ids["event_standard"], "Joist-Event-Type", "user.updated",
		"Joist-Provider-Event-Id", fixtureStdMsgID, "Joist-Source", "standard", "Joist-Correlation-Id", "fixture-standard-delivery")
	var ev struct {
		Status string `json:"status"`
	}
	c.get(t, "/v1/webhook-events/"+ids["event_standard"], "acme", &ev)
	equal(t, "stored event status once forwarded", ev.Status, "delivered")

	// The delayed jobs wait; the cancelled one and the Stripe jobs stay.
	for _, x := range []struct{ name, tenant, want string }{
		{"job_push_scheduled", "acme", "scheduled POST 0/10 p2 key="},
		{"job_push_unique", "acme", "scheduled PUT 0/10 p1 key=fixture-unique-1"},
		{"job_globex_cancelled", "globex", "cancelled POST 0/10 p2 key="},
	} {
		j := job(ids[x.name], x.tenant)
		equal(t, x.name, fmt.Sprintf("%s %s %d/%d p%d key=%s", j.State, j.Method, j.Attempt, j.MaxAttempts, j.Priority, j.UniqueKey), x.want)
	}
	var stripeJobs page[jobView]
	c.get(t, "/v1/jobs?kind=stripe_event", "acme", &stripeJobs)
	if len(stripeJobs.Data) != 2 || stripeJobs.Data[0].State != "completed" || stripeJobs.Data[1].State != "completed" {
		t.Errorf("stripe_event jobs: %+v", stripeJobs.Data)
	}

	// unique_key: a second job with the fixture's key is the fixture's job.
	status, _, b := c.do(t, http.MethodPost, "/v1/jobs", fixtureRootKey, "acme",
		`{"url":"`+tg.srv.URL+`/upgrade/push","body":{"fixture":"unique again"},"unique_key":"fixture-unique-1"}`)
	var dup jobView
	if err := json.Unmarshal(b, &dup); status != http.StatusOK || err != nil || !dup.Deduplicated || dup.ID != ids["job_push_unique"] || dup.State != "scheduled" {
		t.Errorf("POST /v1/jobs with the fixture's unique_key: %d %s, want %s deduplicated", status, b, ids["job_push_unique"])
	}

	// Idempotency-Key: the same request again replays the first answer.
	if idempotencyLive {
		status, h, b := c.do(t, http.MethodPost, "/v1/jobs", fixtureRootKey, "acme", fixtureRetryingRequest, "Idempotency-Key", "fixture-push-retrying")
		var rep jobView
		if err := json.Unmarshal(b, &rep); status != http.StatusAccepted || err != nil || h.Get("Idempotent-Replayed") != "true" || rep.ID != ids["job_push_retrying"] {
			t.Errorf("POST /v1/jobs with the fixture's Idempotency-Key: %d %v %s, want the replay of %s", status, h, b, ids["job_push_retrying"])
		}
	} else {
		t.Logf("the fixture's Idempotency-Key record has expired (made + 7 days): its replay is not checked")
	}

	// Nothing else reached the test server: the delayed jobs did not run.
	var jobsNow page[jobView]
	c.get(t, "/v1/jobs?limit=100", "acme", &jobsNow)
	for _, j := range jobsNow.Data {
		if j.ID == ids["job_push_scheduled"] || j.ID == ids["job_push_unique"] {
			equal(t, j.ID+" state at the end", j.State, "scheduled")
		}
	}
	if n := len(tg.deliveries()); n != 2 {
		t.Errorf("the test server got %d requests, want the 2 due jobs'", n)
	}
}

// --- Schemas ------------------------------------------------------------------------

type freshDB struct {
	db     *store.DB
	schema string
}

// freshDatabase is what a first start of this binary makes: joist's
// migrations and River's, as app.New runs them.
func freshDatabase(t *testing.T, d store.Dialect) freshDB {
	t.Helper()
	ctx := context.Background()
	opts := storetest.Options(t, d)
	db, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(ctx, app.Migrations()...); err != nil {
		t.Fatal(err)
	}
	if err := jobs.MigrateRiver(ctx, db); err != nil {
		t.Fatal(err)
	}
	return freshDB{db: db, schema: opts.Schema}
}

// describeSQLite is the schema as SQLite stores it, one line per object.
func describeSQLite(t *testing.T, db *store.DB) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	err := db.Read(ctx, func(tx *store.Tx) error {
		rows, err := tx.Query(ctx, "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var typ, name, tbl string
			var q sql.NullString
			if err := rows.Scan(&typ, &name, &tbl, &q); err != nil {
				return err
			}
			s := "NULL"
			if q.Valid {
				s = q.String
			}
			out = append(out, fmt.Sprintf("%s %s ON %s: %s", typ, name, tbl, s))
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// describePostgres is the schema's columns, indexes, constraints, triggers,
// views, functions, relations and enum types, one line each. The schema's
// own name is replaced by SCHEMA wherever the catalog prints it (index
// definitions, defaults naming sequences, foreign keys, function bodies):
// the two schemas compared are necessarily named differently.
func describePostgres(t *testing.T, u, schema string) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	queries := []struct{ what, q string }{
		{"column", `SELECT table_name, column_name, ordinal_position::text, data_type, udt_name, is_nullable, coalesce(column_default, 'NULL')
			FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, ordinal_position`},
		{"relation", `SELECT c.relname, c.relkind::text, c.relpersistence::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = $1 ORDER BY c.relname`},
		{"index", `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname`},
		{"constraint", `SELECT coalesce(cl.relname, ty.typname), co.conname, co.contype::text, pg_get_constraintdef(co.oid)
			FROM pg_constraint co JOIN pg_namespace n ON n.oid = co.connamespace
			LEFT JOIN pg_class cl ON cl.oid = co.conrelid LEFT JOIN pg_type ty ON ty.oid = co.contypid
			WHERE n.nspname = $1 ORDER BY 1, 2`},
		{"trigger", `SELECT c.relname, tg.tgname, pg_get_triggerdef(tg.oid) FROM pg_trigger tg
			JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = $1 AND NOT tg.tgisinternal ORDER BY 1, 2`},
		{"view", `SELECT viewname, definition FROM pg_views WHERE schemaname = $1 ORDER BY viewname`},
		{"function", `SELECT p.proname, pg_get_function_identity_arguments(p.oid), pg_get_function_result(p.oid), p.prosrc
			FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 ORDER BY 1, 2`},
		{"enum", `SELECT t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
			FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
			WHERE n.nspname = $1 GROUP BY t.typname ORDER BY 1`},
	}
	var out []string
	for _, x := range queries {
		rows, err := conn.Query(ctx, x.q, schema)
		if err != nil {
			t.Fatalf("describe %s: %v", x.what, err)
		}
		n := 0
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				t.Fatal(err)
			}
			parts := make([]string, len(vals))
			for i, v := range vals {
				parts[i] = strings.ReplaceAll(fmt.Sprint(v), schema+".", "SCHEMA.")
			}
			out = append(out, x.what+" "+strings.Join(parts, " | "))
			n++
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("describe %s: %v", x.what, err)
		}
		if n == 0 && x.what != "trigger" {
			t.Fatalf("describe %s: nothing in schema %s", x.what, schema)
		}
	}
	return out
}

// lineDiff lists the lines only in want (-) and only in got (+), in order;
// empty when both hold the same lines the same number of times.
func lineDiff(want, got []string) string {
	count := map[string]int{}
	for _, l := range got {
		count[l]++
	}
	var b strings.Builder
	for _, l := range want {
		if count[l] > 0 {
			count[l]--
			continue
		}
		fmt.Fprintf(&b, "- %s\n", l)
	}
	rest := map[string]int{}
	for _, l := range want {
		rest[l]++
	}
	for _, l := range got {
		if rest[l] > 0 {
			rest[l]--
			continue
		}
		fmt.Fprintf(&b, "+ %s\n", l)
	}
	return b.String()
}
