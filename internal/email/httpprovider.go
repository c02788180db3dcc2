package email

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/textproto"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/joist-dev/joist/internal/store"
)

// The HTTP providers (Resend, Postmark) share this: one JSON POST through
// the guarded client, its answer read within bounds, and the headers of the
// built message carried over as custom headers. Written by hand: neither
// provider has a Go client that takes our guarded *http.Client, base URL
// and idempotency key without pulling in more than these few lines.

// maxAnswer bounds a provider's answer read into memory.
const maxAnswer = 1 << 20

// httpAnswer is a provider's HTTP answer.
type httpAnswer struct {
	status     int
	body       []byte
	retryAfter time.Duration
}

// postJSON POSTs body as JSON to url with the given headers. A transport
// error (refused connection, reset, a lost answer, a timeout) is returned
// as is: a transient failure, retried.
func postJSON(ctx context.Context, hc *http.Client, url string, hdr map[string]string, body any, now time.Time) (httpAnswer, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return httpAnswer{}, &SendError{Permanent: true, Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return httpAnswer{}, &SendError{Permanent: true, Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "joist")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return httpAnswer{}, err
	}
	defer resp.Body.Close()
	a := httpAnswer{status: resp.StatusCode}
	if a.body, err = io.ReadAll(io.LimitReader(resp.Body, maxAnswer)); err != nil {
		return httpAnswer{}, err
	}
	a.body, _ = store.SafeJSON(a.body)
	if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
		a.retryAfter = d
	}
	return a, nil
}

// parseRetryAfter reads delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// transientStatus is an HTTP status worth retrying: a timeout, a
// conflict of concurrent idempotent requests, a rate limit, a server error.
func transientStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusConflict || code == http.StatusTooManyRequests || code >= 500
}

// structural are the header fields a provider sets from its own JSON
// fields, or itself; they are not passed as custom headers.
var structural = map[string]bool{
	"From": true, "To": true, "Cc": true, "Bcc": true, "Reply-To": true, "Subject": true, "Date": true,
	"Message-Id": true, "Mime-Version": true, "Content-Type": true, "Content-Transfer-Encoding": true, "Dkim-Signature": true,
}

// customHeaders are the built message's header fields a provider takes as
// custom headers: the email's own headers and those joist adds
// (Auto-Submitted, List-Unsubscribe ...), decoded, in name order.
func customHeaders(raw []byte) [][2]string {
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw))).ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return nil
	}
	names := make([]string, 0, len(h))
	for k := range h {
		if !structural[k] {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var dec mime.WordDecoder
	var out [][2]string
	for _, k := range names {
		for _, v := range h[k] {
			if d, err := dec.DecodeHeader(v); err == nil {
				v = d
			}
			out = append(out, [2]string{k, v})
		}
	}
	return out
}

// providerError is a provider's refusal as the email's error text.
func providerError(provider string, a httpAnswer, detail string) error {
	if detail == "" {
		detail = strings.TrimSpace(string(a.body))
		if len(detail) > 500 {
			detail = detail[:500]
		}
	}
	return fmt.Errorf("%s: HTTP %d: %s", provider, a.status, detail)
}
