package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/joist-dev/joist/client"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/store/storetest"
)

// deliveries records what the app's receiver saw, per job id.
type deliveries struct {
	mu     sync.Mutex
	byJob  map[string]int
	total  int
	signed int         // requests carrying a webhook-signature
	times  []time.Time // when each request arrived
}

func (d *deliveries) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	id := r.Header.Get("Joist-Job-Id")
	if id == "" {
		id = r.Header.Get("webhook-id")
	}
	d.mu.Lock()
	d.byJob[id]++
	d.total++
	d.times = append(d.times, time.Now())
	if r.Header.Get("webhook-signature") != "" {
		d.signed++
	}
	d.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (d *deliveries) distinct() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.byJob)
}

// TestJobsSurviveKill9 enqueues 5,000 HTTP-push jobs through the API from 16
// clients, kills joist with SIGKILL twice (once while jobs are being
// enqueued, once while they are being worked), restarts it each time, and
// checks that every job acknowledged with 202 reaches the receiver at least
// once and ends completed. Duplicate deliveries are allowed (at-least-once)
// and reported.
func TestJobsSurviveKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: about a minute per store")
	}
	for _, d := range storetest.Stores {
		t.Run(string(d), func(t *testing.T) {
			crashJobs(t, d, 5000)
		})
	}
}

func crashJobs(t *testing.T, d store.Dialect, total int) {
	const rootKey = "root-key-for-the-jobs-crash-test-0123456789"
	ctx := context.Background()
	// JOIST_JOB_MAX_TIMEOUT=3s: jobs left running by a killed process are
	// rescued after 3s + 15s margin (plus River's rescuer period).
	env := append(storeEnv(t, d), "JOIST_ROOT_KEY="+rootKey, "JOIST_JOB_MAX_TIMEOUT=3s")

	recv := &deliveries{byJob: map[string]int{}}
	srv := httptest.NewServer(recv)
	defer srv.Close()

	var cur atomic.Pointer[node]
	cur.Store(startNode(t, env))
	if _, err := client.New(cur.Load().url, rootKey).CreateTenant(ctx, client.TenantCreate{Slug: "crash"}); err != nil {
		t.Fatal(err)
	}

	hc := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	call := func(method, path string, body []byte) (int, []byte, error) {
		req, err := http.NewRequest(method, cur.Load().url+path, bytes.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+rootKey)
		req.Header.Set("Joist-Tenant", "crash")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}

	// Enqueue: 16 clients; a request that fails (the server died under it)
	// is sent again to the restarted server. A job committed whose answer
	// was lost is not acknowledged; it may run anyway, which is fine.
	var (
		mu       sync.Mutex
		acked    = make(map[string]bool, total)
		failures atomic.Int64
		next     atomic.Int64
		wg       sync.WaitGroup
	)
	start := time.Now()
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(total) {
					return
				}
				body, _ := json.Marshal(map[string]any{"url": srv.URL + "/hook", "body": map[string]any{"n": i}, "timeout": "2s"})
				for attempt := 0; ; attempt++ {
					if time.Since(start) > 60*time.Second {
						return // reported below as too few acknowledged
					}
					status, b, err := call("POST", "/v1/jobs", body)
					if err == nil && status == http.StatusAccepted {
						var j struct{ ID string }
						if err := json.Unmarshal(b, &j); err != nil || j.ID == "" {
							t.Errorf("202 without a job id: %s", b)
							return
						}
						mu.Lock()
						acked[j.ID] = true
						mu.Unlock()
						break
					}
					if err == nil && status != http.StatusServiceUnavailable {
						t.Errorf("POST /v1/jobs: %d %s", status, b)
						return
					}
					failures.Add(1)
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	nAcked := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }

	var killedNodes []*node
	restart := func(label string) time.Duration {
		n := cur.Load()
		t.Logf("%s: kill -9 at %.1fs (%s UTC): %d acknowledged, %d distinct jobs delivered", label, time.Since(start).Seconds(), time.Now().UTC().Format("15:04:05.000"), nAcked(), recv.distinct())
		n.kill()
		killedNodes = append(killedNodes, n)
		t0 := time.Now()
		cur.Store(startNode(t, env))
		return time.Since(t0)
	}
	waitFor := func(what string, limit time.Duration, cond func() bool) {
		deadline := time.Now().Add(limit)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s: %d acknowledged, %d delivered", what, nAcked(), recv.distinct())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	// Kill 1: while enqueueing.
	waitFor("30% acknowledged", 60*time.Second, func() bool { return nAcked() >= total*3/10 })
	up1 := restart("kill 1 (enqueueing)")
	// Kill 2: while working (jobs are being delivered).
	waitFor("60% delivered", 60*time.Second, func() bool { return recv.distinct() >= total*6/10 })
	up2 := restart("kill 2 (working)")
	killed2 := time.Now()
	wg.Wait()
	enqueued := time.Since(start)
	if t.Failed() {
		return
	}
	if n := nAcked(); n != total {
		t.Fatalf("only %d of %d jobs acknowledged within 60s (%d failed requests)", n, total, failures.Load())
	}

	// Drain: every acknowledged job delivered at least once and completed.
	completedIDs := func() (map[string]bool, error) {
		got := map[string]bool{}
		cursor := ""
		for {
			q := url.Values{"state": {"completed"}, "limit": {"500"}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			status, b, err := call("GET", "/v1/jobs?"+q.Encode(), nil)
			if err != nil {
				return nil, err
			}
			if status != http.StatusOK {
				return nil, fmt.Errorf("list: %d %s", status, b)
			}
			var l struct {
				Data       []struct{ ID string }
				NextCursor string `json:"next_cursor"`
			}
			if err := json.Unmarshal(b, &l); err != nil {
				return nil, err
			}
			for _, j := range l.Data {
				got[j.ID] = true
			}
			if l.NextCursor == "" {
				return got, nil
			}
			cursor = l.NextCursor
		}
	}
	missing := func() (undelivered, notCompleted int, err error) {
		done, err := completedIDs()
		if err != nil {
			return 0, 0, err
		}
		recv.mu.Lock()
		defer recv.mu.Unlock()
		for id := range acked {
			if recv.byJob[id] == 0 {
				undelivered++
			}
			if !done[id] {
				notCompleted++
			}
		}
		return undelivered, notCompleted, nil
	}
	deadline := time.Now().Add(90 * time.Second)
	var undelivered, notCompleted int
	for {
		var err error
		undelivered, notCompleted, err = missing()
		if err != nil {
			t.Fatal(err)
		}
		if undelivered == 0 && notCompleted == 0 {
			break
		}
		if time.Now().After(deadline) {
			counts := map[string]int{}
			for _, st := range jobs.AllStates {
				_, b, _ := call("GET", "/v1/jobs?limit=500&state="+st, nil)
				var l struct{ Data []json.RawMessage }
				_ = json.Unmarshal(b, &l)
				counts[st] = len(l.Data)
			}
			t.Fatalf("after 90s: %d acknowledged jobs never delivered, %d not completed; jobs by state (first page, max 500): %v\n%s",
				undelivered, notCompleted, counts, cur.Load().stderr)
		}
		time.Sleep(500 * time.Millisecond)
	}
	drained := time.Since(start)
	// River's own account of the rescues, and anything that went wrong.
	for i, n := range append(killedNodes, cur.Load()) {
		for _, line := range strings.Split(n.stderr.String(), "\n") {
			if strings.Contains(line, "JobRescuer: Ran") || strings.Contains(line, "Gained leadership") || strings.Contains(line, "BUSY") ||
				strings.Contains(line, "locked") || strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN") {
				t.Logf("node %d: %s", i+1, line)
			}
		}
	}

	recv.mu.Lock()
	dups, dupJobs, unacked := 0, 0, 0
	for id, n := range recv.byJob {
		if n > 1 {
			dups += n - 1
			dupJobs++
		}
		if !acked[id] {
			unacked++
		}
	}
	deliveredTotal, signed := recv.total, recv.signed
	// The deliveries after the longest quiet gap since the second kill are
	// the jobs the killed process left running, rescued by River.
	var after []time.Time
	for _, at := range recv.times {
		if at.After(killed2) {
			after = append(after, at)
		}
	}
	recv.mu.Unlock()
	slices.SortFunc(after, time.Time.Compare)
	gapAt, gap := 0, time.Duration(0)
	for i := 1; i < len(after); i++ {
		if g := after[i].Sub(after[i-1]); g > gap {
			gapAt, gap = i, g
		}
	}
	if len(after) > 0 {
		t.Logf("%s: after the second kill: deliveries until %.1fs, then nothing for %.1fs, then the last %d deliveries (jobs left running by a killed process, rescued by River) %.1f-%.1fs after the kill",
			d, after[max(gapAt-1, 0)].Sub(killed2).Seconds(), gap.Seconds(), len(after)-gapAt, after[gapAt].Sub(killed2).Seconds(), after[len(after)-1].Sub(killed2).Seconds())
	}
	if signed != deliveredTotal {
		t.Errorf("%d of %d deliveries were not signed", deliveredTotal-signed, deliveredTotal)
	}
	t.Logf("%s: %d jobs acknowledged (%d requests failed during kills and were resent), %d distinct jobs delivered (%d not acknowledged: committed but the answer was lost), %d deliveries in all, %d duplicate deliveries over %d jobs",
		d, len(acked), failures.Load(), len(recv.byJob), unacked, deliveredTotal, dups, dupJobs)
	t.Logf("%s: enqueueing took %.1fs; all completed %.1fs after start, %.1fs after the second kill; restarts took %.1fs and %.1fs",
		d, enqueued.Seconds(), drained.Seconds(), time.Since(killed2).Seconds(), up1.Seconds(), up2.Seconds())
}
