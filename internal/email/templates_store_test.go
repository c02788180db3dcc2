package email

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/store/storetest"
	"github.com/joist-dev/joist/wire"
)

// TestTemplateStore: the template and layout queries on both stores: a
// tenant finds its own, else the instance's; lists merge the two by name
// and page; puts keep created_at; deletes touch the scope's own only.
func TestTemplateStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b := storetest.Tenant(t, db, "acme").ID, storetest.Tenant(t, db, "bravo").ID
		tpl := func(name, subject string, at time.Time) Template {
			return Template{Name: name, DefaultLocale: "en", Layout: "base",
				Variants:  map[string]wire.EmailTemplateVariant{"en": {Subject: subject, HTML: "<p>ünï</p>"}, "de-AT": {Subject: "s", Text: "t"}},
				CreatedAt: at, UpdatedAt: at}
		}
		write := func(f func(tx *store.Tx) error) {
			t.Helper()
			if err := db.Write(ctx, f); err != nil {
				t.Fatal(err)
			}
		}
		write(func(tx *store.Tx) error {
			inst, qa := scope{tx.Tenant(store.InstanceTenantID)}, scope{tx.Tenant(a)}
			for _, x := range []struct {
				q scope
				t Template
			}{{inst, tpl("welcome", "instance welcome", base)}, {inst, tpl("receipt", "instance receipt", base)},
				{qa, tpl("welcome", "acme welcome", base)}, {qa, tpl("alpha", "acme alpha", base)}} {
				if _, created, err := x.q.templatePut(ctx, x.t); err != nil || !created {
					return errors.Join(err, errors.New("not created"))
				}
			}
			// A replace keeps created_at.
			if got, created, err := qa.templatePut(ctx, tpl("welcome", "acme welcome 2", base.Add(time.Hour))); err != nil || created || !got.CreatedAt.Equal(base) {
				return errors.Join(err, errors.New("replace"))
			}
			for _, l := range []struct {
				q    scope
				name string
			}{{inst, "base"}, {inst, "plain"}, {qa, "base"}} {
				if _, _, err := l.q.layoutPut(ctx, Layout{Name: l.name, HTML: l.name + " {{.content}}", CreatedAt: base, UpdatedAt: base}); err != nil {
					return err
				}
			}
			return nil
		})
		read := func(tenant string, f func(q scope)) {
			t.Helper()
			if err := db.Read(ctx, func(tx *store.Tx) error { f(scope{tx.Tenant(tenant)}); return nil }); err != nil {
				t.Fatal(err)
			}
		}
		read(a, func(q scope) {
			got, err := q.templateFind(ctx, "welcome")
			if err != nil || got.TenantID != a || got.Variants["en"].Subject != "acme welcome 2" || got.Variants["de-AT"].Text != "t" ||
				!got.UpdatedAt.Equal(base.Add(time.Hour)) {
				t.Errorf("acme's welcome: %+v %v", got, err)
			}
			if got, err := q.templateFind(ctx, "receipt"); err != nil || got.TenantID != store.InstanceTenantID {
				t.Errorf("acme's receipt falls back to the instance's: %+v %v", got, err)
			}
			if l, err := q.layoutFind(ctx, "base"); err != nil || l.TenantID != a {
				t.Errorf("acme's base: %+v %v", l, err)
			}
			if l, err := q.layoutFind(ctx, "plain"); err != nil || l.TenantID != store.InstanceTenantID {
				t.Errorf("acme's plain: %+v %v", l, err)
			}
			if _, err := q.templateFind(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("missing template: %v", err)
			}
		})
		names := func(tenant string, limit int, cursor string) (string, string) {
			var out []string
			var next string
			read(tenant, func(q scope) {
				items, n, err := q.templateList(ctx, store.Page{Limit: limit, Cursor: cursor, List: "t"})
				if err != nil {
					t.Fatal(err)
				}
				next = n
				for _, x := range items {
					out = append(out, x.Name+":"+owner(x.TenantID))
				}
			})
			return strings.Join(out, ","), next
		}
		if got, _ := names(a, 0, ""); got != "alpha:tenant,receipt:instance,welcome:tenant" {
			t.Errorf("acme's list: %s", got)
		}
		if got, _ := names(b, 0, ""); got != "receipt:instance,welcome:instance" {
			t.Errorf("bravo's list: %s", got)
		}
		p1, next := names(a, 2, "")
		p2, last := names(a, 2, next)
		if p1 != "alpha:tenant,receipt:instance" || p2 != "welcome:tenant" || last != "" {
			t.Errorf("pages: %s | %s (%q)", p1, p2, last)
		}
		read(b, func(q scope) {
			ls, _, err := q.layoutList(ctx, store.Page{List: "l"})
			if err != nil || len(ls) != 2 || ls[0].TenantID != store.InstanceTenantID {
				t.Errorf("bravo's layouts: %+v %v", ls, err)
			}
		})
		// Deletes touch the scope's own only.
		write(func(tx *store.Tx) error {
			qb, qa := scope{tx.Tenant(b)}, scope{tx.Tenant(a)}
			if err := qb.templateDelete(ctx, "welcome"); !errors.Is(err, store.ErrNotFound) {
				return errors.Join(err, errors.New("bravo deleted the instance's template"))
			}
			if err := qb.layoutDelete(ctx, "base"); !errors.Is(err, store.ErrNotFound) {
				return errors.Join(err, errors.New("bravo deleted the instance's layout"))
			}
			if err := qa.templateDelete(ctx, "welcome"); err != nil {
				return err
			}
			return qa.layoutDelete(ctx, "base")
		})
		read(a, func(q scope) {
			if got, err := q.templateFind(ctx, "welcome"); err != nil || got.TenantID != store.InstanceTenantID {
				t.Errorf("after delete acme renders %+v %v", got, err)
			}
			if l, err := q.layoutFind(ctx, "base"); err != nil || l.TenantID != store.InstanceTenantID {
				t.Errorf("after delete acme's base: %+v %v", l, err)
			}
		})
	}, Migrations())
}
