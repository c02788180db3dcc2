package push

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Urgency values of a message (RFC 8030 section 5.3); FCM and APNs map
// them onto their priorities (high: immediate, the rest: normal/power
// saving).
const (
	UrgencyVeryLow = "very-low"
	UrgencyLow     = "low"
	UrgencyNormal  = "normal"
	UrgencyHigh    = "high"
)

// ValidUrgency reports whether u is one of the urgency values ("" is
// valid: normal).
func ValidUrgency(u string) bool {
	switch u {
	case "", UrgencyVeryLow, UrgencyLow, UrgencyNormal, UrgencyHigh:
		return true
	}
	return false
}

// Message is what one notification says, whatever the target.
type Message struct {
	// Title and Body are the visible text.
	Title string
	Body  string
	// URL is what a click opens (web push: the service worker's choice;
	// FCM and APNs: carried in the data as "url").
	URL string
	// Data is extra key/value data for the app (FCM allows only strings).
	Data map[string]string
	// TTL is how long the service keeps the message for an offline
	// device (0: deliver now or drop).
	TTL time.Duration
	// Urgency is one of the Urgency values ("": normal).
	Urgency string
}

// Status is what became of one send.
type Status string

// Statuses of an Outcome.
const (
	Delivered Status = "delivered" // the service accepted the message
	Gone      Status = "gone"      // the subscription or token is no longer valid: delete it
	Retry     Status = "retry"     // try again later (after RetryAfter when it is set)
	Failed    Status = "failed"    // refused for good (bad request, payload too large, forbidden)
)

// Outcome is the result of one send.
type Outcome struct {
	Status Status
	// Code is the HTTP status of the answer (0: no answer).
	Code int
	// Reason is the service's reason (APNs "Unregistered", FCM
	// "UNREGISTERED", a web push service's body), or the transport error.
	Reason string
	// RetryAfter is the service's Retry-After, when Status is Retry and
	// it gave one.
	RetryAfter time.Duration
	// Err is the transport error, when the request got no answer (Status
	// Retry); the caller may inspect it (a refused destination is not
	// worth retrying).
	Err error
}

// String describes the outcome for logs and delivery details.
func (o Outcome) String() string {
	s := string(o.Status)
	if o.Code != 0 {
		s += fmt.Sprintf(" (%d)", o.Code)
	}
	if o.Reason != "" {
		s += ": " + o.Reason
	}
	if o.RetryAfter > 0 {
		s += fmt.Sprintf(", retry after %s", o.RetryAfter)
	}
	return s
}

// transportFailure is the outcome of a request that got no answer.
func transportFailure(err error) Outcome {
	return Outcome{Status: Retry, Reason: err.Error(), Err: err}
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date
// (relative to now). 0 when absent or unparsable.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// readBody reads at most 16 KiB of an answer (a reason is short) and
// closes it.
func readBody(resp *http.Response) []byte {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return b
}

// clock returns now, or time.Now when nil.
func clock(now func() time.Time) func() time.Time {
	if now == nil {
		return time.Now
	}
	return now
}
