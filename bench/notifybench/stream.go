package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/joist-dev/joist/bench/internal/benchkit"
)

// ---- the stream ------------------------------------------------------------

func streams(ctx context.Context, c *client, js []*benchkit.Joist) error {
	n := *nClients
	if _, err := c.do(ctx, "PUT", "/v1/notification-types/bench.stream", map[string]any{
		"channels": map[string]any{"in_app": map[string]any{"title": "Ping {{.data.k}}", "body": "event {{.data.k}}"}}}, nil); err != nil {
		return err
	}
	objs := make([]any, n)
	ids := make([]any, n)
	for i := range n {
		id := fmt.Sprintf("s%05d", i)
		objs[i], ids[i] = map[string]any{"id": id, "name": "Stream " + id}, id
	}
	// The first event creates the contacts; the clients connect after it.
	if _, _, err := postAndWait(ctx, c, map[string]any{"type": "bench.stream", "recipients": objs, "data": map[string]any{"k": 0}}, "stream-0"); err != nil {
		return err
	}
	urls := make([]string, n)
	// The first token alone: it creates the tenant's feed secret, and on
	// PostgreSQL concurrent first mints race (each creates a secret and
	// expires the other's, so half of the tokens would be refused).
	if err := parallel(ctx, 1, 1, func(i int) error {
		_, err := c.do(ctx, "POST", "/v1/contacts/"+ids[0].(string)+"/tokens", map[string]any{"ttl": "1h"}, nil)
		return err
	}); err != nil {
		return err
	}
	if err := parallel(ctx, n, 16, func(i int) error {
		var tok struct{ Token string }
		if _, err := c.do(ctx, "POST", "/v1/contacts/"+ids[i].(string)+"/tokens", map[string]any{"ttl": "1h"}, &tok); err != nil {
			return err
		}
		urls[i] = js[i%len(js)].Base + "/v1/feed/stream?token=" + tok.Token
		return nil
	}); err != nil {
		return err
	}
	fmt.Printf("\n== stream: %d clients over %d joist node(s) (%s) ==\n", n, len(js), *kind)
	time.Sleep(2 * time.Second) // let the set-up's garbage settle before the first RSS reading
	var lastEvent string
	post := func(k int) error {
		var ev struct{ ID string }
		_, err := c.do(ctx, "POST", "/v1/events", map[string]any{"type": "bench.stream", "recipients": ids, "data": map[string]any{"k": k}}, &ev,
			"Idempotency-Key", fmt.Sprintf("stream-%d-%d", k, time.Now().UnixNano()))
		lastEvent = ev.ID
		return err
	}
	// after says how long the event's fan-out took (created_at to
	// completed_at, both joist's clock): the part of post-to-receipt
	// before any stream is woken.
	after := func() string {
		var ev struct {
			CreatedAt   time.Time  `json:"created_at"`
			CompletedAt *time.Time `json:"completed_at"`
		}
		if _, err := c.do(ctx, "GET", "/v1/events/"+lastEvent, nil, &ev); err != nil || ev.CompletedAt == nil {
			return ""
		}
		return fmt.Sprintf(" (the event's fan-out, job pickup included: %s)", ms(ev.CompletedAt.Sub(ev.CreatedAt)))
	}
	pids := make([]int, len(js))
	for i, j := range js {
		pids[i] = j.Cmd.Process.Pid
	}
	jr, err := measureStreams(ctx, "joist", urls, pids, post, after)
	if err != nil {
		return err
	}

	// The baseline: a bare SSE server, this binary re-executed.
	self, err := os.Executable()
	if err != nil {
		return err
	}
	bcmd := exec.CommandContext(ctx, self)
	bcmd.Env = append(os.Environ(), baseEnv+"=1")
	bcmd.Stderr = os.Stderr
	out, err := bcmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := bcmd.Start(); err != nil {
		return err
	}
	defer func() { _ = bcmd.Process.Kill(); _ = bcmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return fmt.Errorf("baseline SSE server: %w", err)
	}
	bbase := "http://" + strings.TrimSpace(line)
	burls := make([]string, n)
	for i := range burls {
		burls[i] = bbase + "/stream"
	}
	br, err := measureStreams(ctx, "baseline", burls, []int{bcmd.Process.Pid}, func(k int) error {
		resp, err := http.Post(bbase+"/broadcast", "application/json", strings.NewReader(fmt.Sprintf(`{"k":%d}`, k)))
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}, func() string { return "" })
	if err != nil {
		return err
	}
	fmt.Printf("ratio joist/baseline: p50 %.1fx, p99 %.1fx; memory per connection %.1f vs %.1f KiB (aim: p99 under 100 ms; joist's p99 %s)\n",
		ratio(benchkit.Pct(jr.lat, 50), benchkit.Pct(br.lat, 50)), ratio(benchkit.Pct(jr.lat, 99), benchkit.Pct(br.lat, 99)), jr.kibPerConn, br.kibPerConn, ms(benchkit.Pct(jr.lat, 99)))
	return nil
}

type streamResult struct {
	lat        []time.Duration
	kibPerConn float64
}

// measureStreams opens one stream per url, waits until each has received
// its first event (joist's counts; the baseline's hello), records the
// servers' RSS growth, then calls post for each of -events events and
// records, per client, the time from the call to its `notification` event.
func measureStreams(ctx context.Context, name string, urls []string, pids []int, post func(k int) error, note func() string) (streamResult, error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tr := &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: len(urls), DisableCompression: true}
	hc := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	rss0 := rssKiB(pids)
	ready := make(chan error, len(urls))
	got := make([]chan time.Time, len(urls))
	var wg sync.WaitGroup
	var sem = make(chan struct{}, 50) // open at most 50 at a time
	for i, u := range urls {
		got[i] = make(chan time.Time, 64)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			req, _ := http.NewRequestWithContext(sctx, "GET", u, nil)
			req.Header.Set("Accept", "text/event-stream")
			resp, err := hc.Do(req)
			<-sem
			if err != nil {
				ready <- err
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 500))
				ready <- fmt.Errorf("%s: %s %s", name, resp.Status, b)
				return
			}
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			first := true
			for sc.Scan() {
				l := sc.Text()
				if first && strings.HasPrefix(l, "event:") {
					first = false
					ready <- nil
				}
				if l == "event: notification" {
					got[i] <- time.Now()
				}
			}
		}()
	}
	t0 := time.Now()
	for range urls {
		select {
		case err := <-ready:
			if err != nil {
				return streamResult{}, err
			}
		case <-time.After(60 * time.Second):
			return streamResult{}, fmt.Errorf("%s: streams not open after 60 s", name)
		}
	}
	open := time.Since(t0)
	time.Sleep(time.Second)
	rss1 := rssKiB(pids)
	r := streamResult{kibPerConn: float64(rss1-rss0) / float64(len(urls))}
	fmt.Printf("%s: %d streams open in %s; server RSS %d -> %d KiB: %.1f KiB per connection\n", name, len(urls), ms(open), rss0, rss1, r.kibPerConn)
	for k := 1; k <= *nEvents; k++ {
		fmt.Printf("  load before: %s\n", benchkit.LoadAvg())
		t := time.Now()
		if err := post(k); err != nil {
			return r, err
		}
		var lat []time.Duration
		missing := 0
		deadline := time.After(30 * time.Second)
		for i := range got {
			select {
			case at := <-got[i]:
				lat = append(lat, at.Sub(t))
			case <-deadline:
				missing++
				deadline = closedTimer()
			}
		}
		slices.Sort(lat)
		fmt.Printf("  %s event %d: %d of %d clients received it: min %s, p50 %s, p99 %s, max %s%s\n", name, k, len(lat), len(urls), ms(benchkit.Pct(lat, 0)), ms(benchkit.Pct(lat, 50)), ms(benchkit.Pct(lat, 99)), ms(benchkit.Pct(lat, 100)), note())
		if missing > 0 {
			return r, fmt.Errorf("%s: %d clients did not receive event %d in 30 s", name, missing, k)
		}
		r.lat = append(r.lat, lat...)
		time.Sleep(500 * time.Millisecond)
	}
	slices.Sort(r.lat)
	fmt.Printf("%s, all %d events: p50 %s, p99 %s, max %s\n", name, *nEvents, ms(benchkit.Pct(r.lat, 50)), ms(benchkit.Pct(r.lat, 99)), ms(benchkit.Pct(r.lat, 100)))
	cancel()
	wg.Wait()
	return r, nil
}

func closedTimer() <-chan time.Time {
	c := make(chan time.Time, 1)
	c <- time.Now()
	return c
}

// sseBaselineServer is the bare baseline: net/http on 127.0.0.1, GET
// /stream holds a Server-Sent Events stream (a hello event first), POST
// /broadcast writes its body as a `notification` event to every stream.
// It prints its address, and exits when its parent goes (stdin closed or
// a minute without a client, whichever first is not needed: the parent
// kills it; a 15-minute cap bounds it anyway).
func sseBaselineServer() {
	var (
		mu   sync.Mutex
		subs = map[chan []byte]struct{}{}
	)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		ch := make(chan []byte, 16)
		mu.Lock()
		subs[ch] = struct{}{}
		mu.Unlock()
		defer func() { mu.Lock(); delete(subs, ch); mu.Unlock() }()
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		fl := w.(http.Flusher)
		fmt.Fprint(w, "event: hello\ndata: {}\n\n")
		fl.Flush()
		for {
			select {
			case <-r.Context().Done():
				return
			case b := <-ch:
				fmt.Fprintf(w, "event: notification\ndata: %s\n\n", b)
				fl.Flush()
			}
		}
	})
	mux.HandleFunc("POST /broadcast", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		mu.Lock()
		for ch := range subs {
			select {
			case ch <- b:
			default:
			}
		}
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr().String())
	time.AfterFunc(15*time.Minute, func() { os.Exit(0) })
	log.Fatal(http.Serve(ln, mux))
}
