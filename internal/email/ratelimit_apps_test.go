package email_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/config"
)

// TestRateLimitAcrossTwoApps runs two whole joists on one store (two nodes
// of a cluster), the instance's provider Resend at 2 requests a second,
// pointed at one stand-in. Emails are accepted by both nodes at once; every
// one reaches the stand-in exactly once, and no two requests arrive closer
// together than the rate allows, whichever node's worker sent them.
func TestRateLimitAcrossTwoApps(t *testing.T) {
	t.Parallel()
	const (
		rate    = 2
		perNode = 6
		spacing = time.Second / rate
		// tolerance: the limiter spaces the slots exactly 500 ms apart;
		// what the stand-in sees is each slot plus the time from the
		// worker waking to the request arriving (building the message, the
		// HTTP round trip, goroutine scheduling). That is a few
		// milliseconds on an idle machine, but on a loaded 2-core machine
		// running the package's other tests one request was measured 155 ms
		// late while the next was not. Half the spacing absorbs that and
		// still fails a limiter that is not shared: two nodes each keeping
		// 2/s on their own both take their first slot at once (~0 ms apart)
		// and finish the run in half the span.
		tolerance = spacing / 2
	)
	st := newStandin(t, "resend", "re_test_key")
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		st.reset(nil)
		c1 := providerTenant(t, env, "resend")
		env2 := env.Node(t)
		c2 := newCaller(t, env2, "acme")
		ids := make(chan string, 2*perNode)
		errs := make(chan error, 2)
		for n, c := range []*caller{c1, c2} {
			go func() {
				for i := range perNode {
					r := c.do(t, "POST", "/v1/emails", fmt.Sprintf(`{"from":"hello@acme.example","to":"a@x.example","subject":"n%d-%d","text":"x"}`, n, i))
					if r.status != 202 {
						errs <- fmt.Errorf("node %d send %d: %d %s", n, i, r.status, r.body)
						return
					}
					var e struct{ ID string }
					r.json(t, &e)
					ids <- e.ID
				}
				errs <- nil
			}()
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		close(ids)
		for id := range ids {
			if got := waitStatus(t, c1, id, "sent", "failed"); got.Status != "sent" {
				t.Fatalf("email %s: %+v", id, got)
			}
		}
		var arrivals []time.Time
		for n := range 2 {
			for i := range perNode {
				reqs := st.requests(fmt.Sprintf("n%d-%d", n, i))
				if len(reqs) != 1 {
					t.Fatalf("email n%d-%d reached the stand-in %d times", n, i, len(reqs))
				}
				arrivals = append(arrivals, reqs[0].at)
			}
		}
		if st.sentCount() != 2*perNode {
			t.Fatalf("%d sent, want %d", st.sentCount(), 2*perNode)
		}
		slices.SortFunc(arrivals, func(a, b time.Time) int { return a.Compare(b) })
		for i := 1; i < len(arrivals); i++ {
			if gap := arrivals[i].Sub(arrivals[i-1]); gap < spacing-tolerance {
				t.Fatalf("requests %d and %d arrived %s apart; at %d/s they must be %s apart", i-1, i, gap, rate, spacing)
			}
		}
		if span, want := arrivals[len(arrivals)-1].Sub(arrivals[0]), time.Duration(len(arrivals)-1)*spacing; span < want-tolerance {
			t.Fatalf("%d requests in %s; at %d/s they take at least %s", len(arrivals), span, rate, want)
		}
		if lines := env.ErrorLines(); len(lines) > 0 {
			t.Fatalf("errors logged: %v", lines)
		}
	}, func(cfg *config.Config) {
		cfg.EmailProvider, cfg.ResendAPIKey, cfg.ResendAPIBase, cfg.EmailRate = "resend", "re_test_key", st.srv.URL, rate
	})
}
