package notify_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/store/storetest"
	"github.com/joist-dev/joist/wire"
)

// TestSettingsAndCORS: settings are validated whole (a bad origin or
// VAPID subject stores nothing); a preflight is answered for an origin
// some tenant allows, with exactly that origin; a feed request is
// answered CORS only for an origin of the token's own tenant; other
// origins get no CORS headers.
func TestSettingsAndCORS(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		a, b := newFx(t, env, "clinic-a"), newFx(t, env, "clinic-b")
		a.contact(t, "alice")
		b.contact(t, "bob")
		var s wire.NotificationSettings
		a.want(t, http.StatusOK, "GET", "/v1/notification-settings", "key", nil).json(t, &s)
		if len(s.AllowedOrigins) != 0 || s.VAPIDSubject != "" {
			t.Fatalf("defaults %+v", s)
		}
		a.want(t, http.StatusOK, "PUT", "/v1/notification-settings", "key",
			wire.NotificationSettings{AllowedOrigins: []string{"https://App.Example.com", "http://localhost:3000"}, VAPIDSubject: "mailto:ops@example.com"}).json(t, &s)
		if !equal(s.AllowedOrigins, []string{"http://localhost:3000", "https://app.example.com"}) || s.VAPIDSubject != "mailto:ops@example.com" {
			t.Fatalf("stored %+v", s)
		}
		b.want(t, http.StatusOK, "PUT", "/v1/notification-settings", "key",
			wire.NotificationSettings{AllowedOrigins: []string{"https://b.example.org"}, VAPIDSubject: "https://b.example.org/contact"})

		before := env.Snapshot(t)
		for body, code := range map[string]string{
			`{"allowed_origins":["https://app.example.com/path"]}`: "invalid_origin",
			`{"allowed_origins":["app.example.com"]}`:              "invalid_origin",
			`{"allowed_origins":["ftp://app.example.com"]}`:        "invalid_origin",
			`{"allowed_origins":["https://u:p@app.example.com"]}`:  "invalid_origin",
			`{"allowed_origins":["https://a.com?x=1"]}`:            "invalid_origin",
			`{"vapid_subject":"ops@example.com"}`:                  "invalid_vapid_subject",
			`{"vapid_subject":"http://example.com"}`:               "invalid_vapid_subject",
			`{"allowed_origins":["https://a\u0000.com"]}`:          "",
		} {
			r := a.do(t, "PUT", "/v1/notification-settings", "key", body)
			if r.status != http.StatusBadRequest || (code != "" && r.code(t) != code) {
				t.Errorf("%s: %d %s, want 400 %s", body, r.status, r.body, code)
			}
		}
		storetest.Unchanged(t, before, env.Snapshot(t))
		a.want(t, http.StatusOK, "GET", "/v1/notification-settings", "key", nil).json(t, &s)
		if len(s.AllowedOrigins) != 2 {
			t.Fatalf("a refused PUT changed the settings: %+v", s)
		}

		preflight := func(path, origin string) *http.Response {
			req, _ := http.NewRequest("OPTIONS", env.URL+path, nil)
			req.Header.Set("Origin", origin)
			req.Header.Set("Access-Control-Request-Method", "GET")
			req.Header.Set("Access-Control-Request-Headers", "authorization")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res
		}
		for _, c := range []struct{ path, origin string }{{"/v1/feed", "https://app.example.com"}, {"/v1/feed/stream", "https://b.example.org"},
			{"/v1/feed/ntf_1/read", "http://localhost:3000"}} {
			res := preflight(c.path, c.origin)
			h := res.Header
			if res.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != c.origin ||
				!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Last-Event-ID") {
				t.Errorf("preflight %s from %s: %d %v", c.path, c.origin, res.StatusCode, h)
			}
		}
		for _, o := range []string{"https://evil.example.com", "https://app.example.com.evil.com", "null"} {
			if res := preflight("/v1/feed", o); res.Header.Get("Access-Control-Allow-Origin") != "" || res.StatusCode == http.StatusNoContent {
				t.Errorf("preflight from %s answered: %d %v", o, res.StatusCode, res.Header)
			}
		}

		tokA := a.token(t, "alice")
		for origin, want := range map[string]string{
			"https://app.example.com":  "https://app.example.com",
			"https://b.example.org":    "", // B's origin, A's token
			"https://evil.example.com": "",
		} {
			r := a.want(t, http.StatusOK, "GET", "/v1/feed/counts", tokA, nil, "Origin", origin)
			if got := r.header.Get("Access-Control-Allow-Origin"); got != want {
				t.Errorf("GET with A's token from %s: Allow-Origin %q, want %q", origin, got, want)
			}
		}
		// A refused token from an allowed origin: the page may read the 401
		// (and fetch a fresh token).
		r := a.want(t, http.StatusUnauthorized, "GET", "/v1/feed/counts", "x.y.z", nil, "Origin", "https://app.example.com")
		if r.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
			t.Errorf("401 to an allowed origin without CORS: %v", r.header)
		}
		if r := a.do(t, "GET", "/v1/feed/counts", "x.y.z", nil, "Origin", "https://evil.example.com"); r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("401 to another origin with CORS: %v", r.header)
		}

		res, err := http.Get(env.URL + "/notify.js")
		if err != nil {
			t.Fatal(err)
		}
		js, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") ||
			!strings.Contains(string(js), "JoistNotify") || !strings.Contains(string(js), "EventSource") {
			t.Fatalf("/notify.js: %d %s", res.StatusCode, res.Header)
		}
	})
}
