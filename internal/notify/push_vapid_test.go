package notify_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// TestVAPIDKeySealedAndStable: concurrent first requests make one key
// pair; the private key is stored sealed (not the raw scalar), the key
// is audited once, and after a restart the same public key is answered.
func TestVAPIDKeySealedAndStable(t *testing.T) {
	t.Parallel()
	svc := newPushServices(t)
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		p := startPush(t, env)
		acme, ana := p.tenantWithContact(t, "acme", "ana")
		keys := make([]string, 8)
		var wg sync.WaitGroup
		for i := range keys {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var k wire.VAPIDPublicKey
				p.as(t, acme.ID, ana, "GET", "/v1/push/vapid-public-key", "").json(t, &k)
				keys[i] = k.PublicKey
			}()
		}
		wg.Wait()
		for _, k := range keys {
			if k != keys[0] || k == "" {
				t.Fatalf("keys differ: %v", keys)
			}
		}
		var pub, sealed string
		err := env.App.DB.Read(context.Background(), func(tx *store.Tx) error {
			return tx.QueryRow(context.Background(), `SELECT public_key, private_key FROM push_vapid_keys WHERE tenant_id = ?`, acme.ID).Scan(&pub, &sealed)
		})
		if err != nil || pub != keys[0] || !strings.HasPrefix(sealed, "v1:") || env.Count(t, "push_vapid_keys") != 1 {
			t.Fatalf("stored %q %q: %v", pub, sealed, err)
		}
		if n := countWhere(t, env, `SELECT COUNT(*) FROM audit_log WHERE action = 'push.vapid_key_created'`); n != 1 {
			t.Fatalf("%d audit entries", n)
		}
		env2 := env.Restart(t)
		p2 := startPush(t, env2)
		var again wire.VAPIDPublicKey
		p2.as(t, acme.ID, ana, "GET", "/v1/push/vapid-public-key", "").json(t, &again)
		if again.PublicKey != keys[0] {
			t.Fatalf("after restart %q, was %q", again.PublicKey, keys[0])
		}
	}, svc.configure(t))
}
