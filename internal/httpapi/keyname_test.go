package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/joist-dev/joist/client"
	"github.com/joist-dev/joist/internal/apptest"
)

// TestKeyWithoutNameGetsOne: a key created without a name is listed, and
// audited, under a name that tells it apart (its prefix), not an empty one.
func TestKeyWithoutNameGetsOne(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		c := client.New(env.URL, env.RootKey)
		tn, err := c.CreateTenant(ctx, client.TenantCreate{Slug: "acme"})
		if err != nil {
			t.Fatal(err)
		}
		k, err := c.CreateKey(ctx, tn.ID, "  ")
		if err != nil {
			t.Fatal(err)
		}
		want := "unnamed key " + k.Prefix
		if k.Name != want || !strings.HasPrefix(k.Key, k.Prefix) {
			t.Fatalf("key created without a name is named %q, want %q", k.Name, want)
		}
		l, err := c.ListKeys(ctx, tn.ID, client.ListOptions{})
		if err != nil || len(l.Data) != 1 || l.Data[0].Name != want {
			t.Fatalf("listed keys: %v %+v", err, l)
		}
		al, err := c.ListAudit(ctx, client.AuditListOptions{Action: "key.create"})
		if err != nil || len(al.Data) != 1 || !strings.Contains(string(al.Data[0].Summary), `"name":"`+want+`"`) {
			t.Fatalf("audit of the key: %v %+v", err, al)
		}
	})
}
