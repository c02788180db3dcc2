package email_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// standin is a local HTTP server that follows a provider's documented
// send API: it checks the auth header, records every request and answers
// what plan says for the nth request of an email (by subject).
type standin struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []standinReq
	// sent counts the emails really sent (Resend: once per Idempotency-Key).
	sent map[string]string // idempotency key (or request number) -> provider id
	plan func(subject string, n int) (status int, hdr map[string]string, body string, drop bool)
}

type standinReq struct {
	at      time.Time
	header  http.Header
	body    map[string]any
	subject string
}

// newStandin serves provider "resend" or "postmark" with the given auth
// header value (Authorization: Bearer KEY, or X-Postmark-Server-Token).
func newStandin(t *testing.T, provider, secret string) *standin {
	s := &standin{sent: map[string]string{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, authOK := "/emails", r.Header.Get("Authorization") == "Bearer "+secret
		subjectKey := "subject"
		if provider == "postmark" {
			path, authOK, subjectKey = "/email", r.Header.Get("X-Postmark-Server-Token") == secret, "Subject"
		}
		if r.Method != http.MethodPost || r.URL.Path != path || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, `{"message":"not found"}`, http.StatusNotFound)
			return
		}
		if !authOK {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"statusCode":401,"name":"missing_api_key","message":"Missing API key","ErrorCode":10}`)
			return
		}
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil {
			w.WriteHeader(http.StatusUnprocessableEntity)
			return
		}
		subject, _ := body[subjectKey].(string)
		s.mu.Lock()
		s.reqs = append(s.reqs, standinReq{at: time.Now(), header: r.Header.Clone(), body: body, subject: subject})
		n := 0
		for _, q := range s.reqs {
			if q.subject == subject {
				n++
			}
		}
		status, hdr, answer, drop := 200, map[string]string(nil), "", false
		if s.plan != nil {
			status, hdr, answer, drop = s.plan(subject, n)
		}
		if status == 200 {
			key := r.Header.Get("Idempotency-Key")
			if key == "" {
				key = fmt.Sprint("req-", len(s.reqs))
			}
			id, seen := s.sent[key]
			if !seen { // Resend deduplicates by Idempotency-Key: the same answer, nothing sent again
				id = fmt.Sprintf("%s-msg-%d", provider, len(s.sent)+1)
				s.sent[key] = id
			}
			if provider == "postmark" {
				answer = fmt.Sprintf(`{"To":"x","SubmittedAt":"2030-01-01T00:00:00Z","MessageID":%q,"ErrorCode":0,"Message":"OK"}`, id)
			} else {
				answer = fmt.Sprintf(`{"id":%q}`, id)
			}
		}
		s.mu.Unlock()
		if drop {
			// Accepted, then the connection is lost before the answer.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		for k, v := range hdr {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *standin) reset(plan func(subject string, n int) (int, map[string]string, string, bool)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs, s.sent, s.plan = nil, map[string]string{}, plan
}

func (s *standin) requests(subject string) []standinReq {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []standinReq
	for _, r := range s.reqs {
		if r.subject == subject {
			out = append(out, r)
		}
	}
	return out
}

func (s *standin) sentCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sent)
}
