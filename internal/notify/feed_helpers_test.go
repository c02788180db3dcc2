package notify_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/apitest/openapicheck"
	"github.com/joist-dev/joist/internal/app"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/contacts"
	"github.com/joist-dev/joist/internal/notify"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/tenants"
	"github.com/joist-dev/joist/wire"
)

// fx is one tenant of a running joist, with a caller for its API key
// routes (root key + Joist-Tenant) and one for the end user's (contact
// token), every exchange checked against /openapi.json.
type fx struct {
	app    *app.App
	url    string
	key    string
	tenant store.Tenant
	hc     *http.Client
}

func newFx(t *testing.T, env *apptest.Env, slug string) *fx {
	t.Helper()
	tn, err := env.App.Tenants.Create(context.Background(), root, tenants.Input{Slug: slug})
	if err != nil {
		t.Fatal(err)
	}
	chk := openapicheck.New(t, apptest.OpenAPI(t))
	return &fx{app: env.App, url: env.URL, key: env.RootKey, tenant: tn, hc: &http.Client{Transport: chk.Transport(nil), Timeout: 30 * time.Second}}
}

// on is f for another node of the same database.
func (f *fx) on(a *app.App) *fx {
	g := *f
	g.app, g.url = a, "http://"+a.Addr()
	return &g
}

func (r resp) code(t *testing.T) string {
	t.Helper()
	var p struct{ Code string }
	_ = json.Unmarshal(r.body, &p)
	return p.Code
}

// do sends a request; auth is "" (none), "key" (the root key with
// Joist-Tenant) or a contact token.
func (f *fx) do(t *testing.T, method, path, auth string, body any, hdr ...string) resp {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, f.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	switch auth {
	case "":
	case "key":
		req.Header.Set("Authorization", "Bearer "+f.key)
		req.Header.Set("Joist-Tenant", f.tenant.ID)
	default:
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := f.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, body: b, header: res.Header}
}

func (f *fx) want(t *testing.T, status int, method, path, auth string, body any, hdr ...string) resp {
	t.Helper()
	r := f.do(t, method, path, auth, body, hdr...)
	if r.status != status {
		t.Fatalf("%s %s: %d %s, want %d", method, path, r.status, r.body, status)
	}
	return r
}

// contact creates a contact and returns joist's id of it.
func (f *fx) contact(t *testing.T, externalID string) string {
	t.Helper()
	c, _, err := f.app.Contacts.Upsert(context.Background(), root, f.tenant.ID, externalID, contacts.Input{})
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// token mints a contact token through the API.
func (f *fx) token(t *testing.T, externalID string) string {
	t.Helper()
	var tok wire.ContactToken
	f.want(t, http.StatusCreated, "POST", "/v1/contacts/"+externalID+"/tokens", "key", map[string]string{"ttl": "1h"}).json(t, &tok)
	return tok.Token
}

// notify stands in for the fan-out: it stores a notification in the
// contact's feed and its feed log entry in one transaction, then tells
// the feed (as the fan-out does after commit). It returns the
// notification's id and its feed sequence number.
func (f *fx) notify(t *testing.T, contactID, title string) (string, int64) {
	t.Helper()
	ctx := context.Background()
	a := f.app
	now := a.Core.Now()
	evt, id := store.NewID("nev_"), store.NewID("ntf_")
	var c notify.FeedChange
	err := a.DB.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO notify_events (id, tenant_id, type, data, actor, recipients, recipient_count, status, created_at)
			VALUES (?, ?, 'test.type', '{}', '{}', '[]', 1, 'done', ?)`, evt, f.tenant.ID, now); err != nil {
			return err
		}
		var err error
		if c, err = notify.FeedAppend(ctx, tx, f.tenant.ID, contactID, notify.FeedNew, id, now); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO notifications (id, tenant_id, event_id, contact_id, type, title, body, url, data, in_feed, seq, created_at, updated_at)
			VALUES (?, ?, ?, ?, 'test.type', ?, 'the body', '/things/1', '{"n":1}', TRUE, ?, ?, ?)`, id, f.tenant.ID, evt, contactID, title, c.Seq, now, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	a.Feed.FeedChanged(ctx, []notify.FeedChange{c})
	return id, c.Seq
}

// event is one Server-Sent Event.
type event struct {
	name, id, data string
}

func (e event) seq(t *testing.T) int64 {
	t.Helper()
	n, err := strconv.ParseInt(e.id, 10, 64)
	if err != nil {
		t.Fatalf("event id %q: %v", e.id, err)
	}
	return n
}

// stream is an open feed stream.
type stream struct {
	events   chan event
	comments chan string
	cancel   context.CancelFunc
	done     chan struct{}
	status   int
}

// openStream connects to the feed stream with the token in the query
// (as EventSource does); lastID, when not "", is sent as Last-Event-ID.
func (f *fx) openStream(t *testing.T, token, lastID string) *stream {
	t.Helper()
	return f.stream(t, f.url, token, lastID)
}

// openStreamAt connects to the stream of the joist served at base.
func (f *fx) openStreamAt(t *testing.T, base, token string) *stream {
	t.Helper()
	return f.stream(t, base, token, "")
}

func (f *fx) stream(t *testing.T, base, token, lastID string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/v1/feed/stream?token="+token, nil)
	if err != nil {
		t.Fatal(err)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &stream{events: make(chan event, 100), comments: make(chan string, 100), cancel: cancel, done: make(chan struct{}), status: res.StatusCode}
	t.Cleanup(s.close)
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		t.Fatalf("stream: %d %s", res.StatusCode, b)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("stream Content-Type %q", ct)
	}
	go func() {
		defer close(s.done)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		var e event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if e.name != "" {
					s.events <- e
				}
				e = event{}
			case strings.HasPrefix(line, ":"):
				select {
				case s.comments <- strings.TrimSpace(line[1:]):
				default:
				}
			case strings.HasPrefix(line, "event: "):
				e.name = line[len("event: "):]
			case strings.HasPrefix(line, "id: "):
				e.id = line[len("id: "):]
			case strings.HasPrefix(line, "data: "):
				e.data = line[len("data: "):]
			}
		}
	}()
	return s
}

func (s *stream) close() {
	s.cancel()
	<-s.done
}

// next waits for the next event.
func (s *stream) next(t *testing.T) event {
	t.Helper()
	select {
	case e := <-s.events:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	return event{}
}

// expect waits for the next event and checks its name.
func (s *stream) expect(t *testing.T, name string) event {
	t.Helper()
	e := s.next(t)
	if e.name != name {
		t.Fatalf("event %q (id %s, %s), want %q", e.name, e.id, e.data, name)
	}
	return e
}

// quiet checks no event arrives within d.
func (s *stream) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case e := <-s.events:
		t.Fatalf("unexpected event %s id %s: %s", e.name, e.id, e.data)
	case <-time.After(d):
	}
}

func itemOf(t *testing.T, e event) wire.FeedItem {
	t.Helper()
	var it wire.FeedItem
	if err := json.Unmarshal([]byte(e.data), &it); err != nil {
		t.Fatalf("event data %s: %v", e.data, err)
	}
	return it
}

func countsOf(t *testing.T, e event) wire.FeedCounts {
	t.Helper()
	var c wire.FeedCounts
	if err := json.Unmarshal([]byte(e.data), &c); err != nil {
		t.Fatalf("event data %s: %v", e.data, err)
	}
	return c
}
