package notify_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/joist-dev/joist/internal/apptest"
)

// TestFirstTokensAtOnce: a tenant's first contact tokens minted at the
// same moment (which creates its feed secret) all verify, and the tenant
// has one feed secret, on both stores; before the tenant lock on
// PostgreSQL, two first mints each created a secret and the second
// expired the first with its tokens.
func TestFirstTokensAtOnce(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		f := newFx(t, env, "acme")
		f.contact(t, "ana")
		const n = 8
		toks := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				toks[i] = f.token(t, "ana")
			}()
		}
		wg.Wait()
		for i, tok := range toks {
			if r := f.do(t, "GET", "/v1/feed/counts", tok, nil); r.status != http.StatusOK {
				t.Fatalf("token %d of %d minted at once: %d %s", i, n, r.status, r.body)
			}
		}
		if got := env.Count(t, "feed_secrets"); got != 1 {
			t.Fatalf("%d feed secrets after %d first mints", got, n)
		}
	})
}
