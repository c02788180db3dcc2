package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/store/storetest"
)

func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func TestTenantsAndContacts(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := storetest.Tenant(t, db, "clinic-a")
		b := storetest.Tenant(t, db, "clinic-b")

		// Duplicate slug is a conflict and stores nothing.
		err := db.Write(ctx, func(tx *store.Tx) error {
			return tx.TenantInsert(ctx, store.Tenant{ID: store.NewID(store.PrefixTenant), Slug: "clinic-a", Name: "x", CreatedAt: now(), UpdatedAt: now()})
		})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate slug: got %v, want ErrConflict", err)
		}
		if n := storetest.Count(t, db, "tenants"); n != 3 { // two, and the instance tenant
			t.Fatalf("tenants = %d, want 2", n)
		}

		created := now()
		c := store.Contact{ID: store.NewID(store.PrefixContact), ExternalID: "u1", Email: "Ann@Example.com", Name: "Ann Lee",
			Metadata: json.RawMessage(`{"plan":"pro"}`), CreatedAt: created, UpdatedAt: created}
		if err := db.Write(ctx, func(tx *store.Tx) error { return tx.Tenant(a.ID).ContactInsert(ctx, c) }); err != nil {
			t.Fatal(err)
		}
		err = db.Read(ctx, func(tx *store.Tx) error {
			got, err := tx.Tenant(a.ID).ContactGet(ctx, "u1")
			if err != nil {
				return err
			}
			if got.Email != c.Email || !got.CreatedAt.Equal(created) {
				return fmt.Errorf("got %+v", got)
			}
			var m map[string]string
			if err := json.Unmarshal(got.Metadata, &m); err != nil || m["plan"] != "pro" {
				return fmt.Errorf("metadata %s", got.Metadata)
			}
			// Tenant B cannot see it.
			if _, err := tx.Tenant(b.ID).ContactGet(ctx, "u1"); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("tenant b got %v, want not found", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// TestConcurrentWritesShareCommits proves the write path does not fail under
// concurrent writers, and that one failing writer rolls back alone.
func TestConcurrentWritesShareCommits(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := storetest.Tenant(t, db, "a")
		var wg sync.WaitGroup
		errs := make(chan error, 200)
		for i := range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- db.Write(ctx, func(tx *store.Tx) error {
					c := store.Contact{ID: store.NewID(store.PrefixContact), ExternalID: fmt.Sprint("u", i), CreatedAt: now(), UpdatedAt: now()}
					if err := tx.Tenant(a.ID).ContactInsert(ctx, c); err != nil {
						return err
					}
					if i%10 == 0 {
						return errors.New("deliberate failure")
					}
					return nil
				})
			}()
		}
		wg.Wait()
		close(errs)
		failed := 0
		for err := range errs {
			if err != nil {
				if err.Error() != "deliberate failure" {
					t.Fatalf("unexpected write error: %v", err)
				}
				failed++
			}
		}
		if failed != 20 {
			t.Fatalf("failed = %d, want 20", failed)
		}
		if n := storetest.Count(t, db, "contacts"); n != 180 {
			t.Fatalf("contacts = %d, want 180 (failed writers must roll back alone)", n)
		}
	})
}

func TestAuditIsAppendOnly(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := store.AuditEntry{ActorType: "cli", ActorID: "cli", Action: "tenant.create", CreatedAt: now()}
		if err := db.Write(ctx, func(tx *store.Tx) error { return tx.AuditInsert(ctx, e) }); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{"UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"} {
			err := db.Write(ctx, func(tx *store.Tx) error { _, err := tx.Exec(ctx, q); return err })
			if err == nil {
				t.Fatalf("%s succeeded on the audit log", q)
			}
		}
		if n := storetest.Count(t, db, "audit_log"); n != 1 {
			t.Fatalf("audit rows = %d", n)
		}
	})
}

func TestMigrateTwiceAndConcurrently(t *testing.T) {
	t.Parallel()
	storetest.EachStore(t, func(t *testing.T, opts store.Options) {
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make([]error, 3)
		for i := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db, err := store.Open(ctx, opts)
				if err != nil {
					errs[i] = err
					return
				}
				defer db.Close()
				_, errs[i] = db.Migrate(ctx, store.CoreMigrations())
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatalf("concurrent migrate: %v", err)
			}
		}
		db, err := store.Open(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		res, err := db.Migrate(ctx, store.CoreMigrations())
		if err != nil || len(res.Applied) != 0 || res.Known < 2 {
			t.Fatalf("second migrate: %+v %v", res, err)
		}
	})
}

// TestAfterCommit proves AfterCommit's functions run once their write has
// committed (its rows visible to a new read), and never for a write that
// failed, also when it shared its SQLite commit with writes that succeeded.
func TestAfterCommit(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := storetest.Tenant(t, db, "a")
		var mu sync.Mutex
		ran := map[string]int{}
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ext := fmt.Sprint("u", i)
				errs <- db.Write(ctx, func(tx *store.Tx) error {
					c := store.Contact{ID: store.NewID(store.PrefixContact), ExternalID: ext, CreatedAt: now(), UpdatedAt: now()}
					if err := tx.Tenant(a.ID).ContactInsert(ctx, c); err != nil {
						return err
					}
					tx.AfterCommit(func() {
						// The row is committed: a read transaction sees it.
						err := db.Read(ctx, func(rt *store.Tx) error {
							_, err := rt.Tenant(a.ID).ContactGet(ctx, ext)
							return err
						})
						mu.Lock()
						defer mu.Unlock()
						if err != nil {
							ran[ext+" not visible: "+err.Error()]++
							return
						}
						ran[ext]++
					})
					if i%4 == 0 {
						return errors.New("deliberate failure")
					}
					return nil
				})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil && err.Error() != "deliberate failure" {
				t.Fatal(err)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		for i := range 40 {
			ext := fmt.Sprint("u", i)
			want := 1
			if i%4 == 0 {
				want = 0
			}
			if ran[ext] != want {
				t.Fatalf("%s: after-commit ran %d times, want %d (all: %v)", ext, ran[ext], want, ran)
			}
		}
		if len(ran) != 30 {
			t.Fatalf("after-commit calls: %v", ran)
		}
		// A read transaction has nothing to commit: AfterCommit never runs.
		called := false
		if err := db.Read(ctx, func(tx *store.Tx) error {
			tx.AfterCommit(func() { called = true })
			return nil
		}); err != nil || called {
			t.Fatalf("read: err %v, after-commit called %v", err, called)
		}
	})
}
