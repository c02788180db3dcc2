// Package openapicheck checks real HTTP exchanges against joist's OpenAPI
// document (internal/httpapi/openapi.json) in tests.
//
// Wrap a client's transport and every request it sends and every response it
// receives is validated against the document; a mismatch fails the test with
// t.Errorf, naming the method, path, status and what is wrong:
//
//	chk := openapicheck.New(t, httpapi.OpenAPI())
//	hc := &http.Client{Transport: chk.Transport(http.DefaultTransport)}
//	... use hc ...
//	for _, op := range chk.Uncovered() { t.Errorf("never exercised: %s", op) }
//
// What is checked, per exchange:
//   - Requests to paths the document does not have (/admin/..., /in/...) are
//     ignored, as are HEAD and OPTIONS requests.
//   - A documented path called with an undocumented method must be refused
//     (404 or 405); any other status is reported as an undocumented operation.
//   - The response always: its status must be documented for the operation,
//     its Content-Type must be one the operation declares, required headers
//     (Joist-Correlation-Id) must be present and match, and a JSON body must
//     match the schema (with format assertions, so date-time is checked).
//     Bodies of other media types (/metrics' text) are not parsed.
//   - The request (parameters, security, body) only when the server accepted
//     it (status below 400): a test may send bad requests on purpose to see
//     them refused, but a request the document forbids and the server takes
//     means the two disagree.
//
// The document itself is validated against the OpenAPI 3.1 meta-schema by New.
package openapicheck

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/router"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// Checker validates exchanges against one OpenAPI document and counts the
// operations it saw.
type Checker struct {
	t      testing.TB
	doc    *v3.Document
	v      validator.Validator
	router router.Router
	ops    []string // "METHOD /template", sorted

	mu      sync.Mutex // serialises validation and guards covered
	covered map[string]int
}

// New parses doc (httpapi.OpenAPI()), validates it against the OpenAPI
// specification and returns a Checker reporting to t. An unusable document
// fails the test at once.
func New(t testing.TB, doc []byte) *Checker {
	t.Helper()
	d, err := libopenapi.NewDocument(doc)
	if err != nil {
		t.Fatalf("openapicheck: parse document: %v", err)
	}
	m, err := d.BuildV3Model()
	if err != nil {
		t.Fatalf("openapicheck: build document model: %v", err)
	}
	if m == nil {
		t.Fatalf("openapicheck: build document model: no model")
	}
	v, verrs := validator.NewValidator(d, config.WithFormatAssertions())
	if len(verrs) > 0 {
		t.Fatalf("openapicheck: build validator: %v", errors.Join(verrs...))
	}
	if ok, errs := v.ValidateDocument(); !ok {
		for _, e := range errs {
			t.Errorf("openapicheck: document is not valid OpenAPI: %s", describe(e))
		}
		t.FailNow()
	}
	c := &Checker{t: t, doc: &m.Model, v: v, router: router.NewRouter(&m.Model, router.WithPathOnlyMatching()),
		covered: map[string]int{}}
	if m.Model.Paths != nil {
		for path, item := range m.Model.Paths.PathItems.FromOldest() {
			for method := range item.GetOperations().FromOldest() {
				c.ops = append(c.ops, strings.ToUpper(method)+" "+path)
			}
		}
	}
	slices.Sort(c.ops)
	return c
}

// Operations lists the documented operations as "METHOD /path/{template}",
// sorted.
func (c *Checker) Operations() []string { return slices.Clone(c.ops) }

// Covered counts the exchanges validated so far per operation, keyed
// "METHOD /path/{template}" (e.g. "PUT /v1/contacts/{contact}").
func (c *Checker) Covered() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.covered)
}

// Uncovered lists the documented operations not exercised yet, sorted.
func (c *Checker) Uncovered() []string {
	cov := c.Covered()
	var out []string
	for _, op := range c.ops {
		if cov[op] == 0 {
			out = append(out, op)
		}
	}
	return out
}

// Transport returns a RoundTripper that sends requests through base (nil
// for http.DefaultTransport) and validates each exchange. Bodies are
// buffered, so callers read them as usual.
func (c *Checker) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{c: c, base: base}
}

type transport struct {
	c    *Checker
	base http.RoundTripper
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("openapicheck: read request body: %w", err)
		}
		reqBody = b
		out := req.Clone(req.Context())
		out.Body = io.NopCloser(bytes.NewReader(b))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		req = out
	}
	resp, err := tr.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if isStream(resp) {
		// A stream may never end; check everything but the body.
		tr.c.check(req, reqBody, resp, nil, false)
		return resp, nil
	}
	respBody, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	if err != nil {
		return nil, fmt.Errorf("openapicheck: read response body: %w", err)
	}
	tr.c.check(req, reqBody, resp, respBody, true)
	return resp, nil
}

func isStream(resp *http.Response) bool {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return mt == "text/event-stream"
}

// check validates one exchange. req's body has been sent; reqBody and
// respBody are the bytes.
func (c *Checker) check(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte, withBody bool) {
	if req.Method == http.MethodHead || req.Method == http.MethodOptions {
		return
	}
	route, err := c.router.FindRoute(req)
	var what string // "METHOD /path?query -> status"
	if req.URL.RawQuery != "" {
		what = fmt.Sprintf("%s %s?%s -> %d", req.Method, req.URL.EscapedPath(), req.URL.RawQuery, resp.StatusCode)
	} else {
		what = fmt.Sprintf("%s %s -> %d", req.Method, req.URL.EscapedPath(), resp.StatusCode)
	}
	switch {
	case errors.Is(err, router.ErrPathNotFound):
		return // not an API path the document describes
	case errors.Is(err, router.ErrMethodNotAllowed):
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			path := ""
			if route != nil {
				path = route.Path
			}
			c.t.Errorf("openapicheck: %s: the document has no %s operation on %s, yet the server answered %d",
				what, req.Method, path, resp.StatusCode)
		}
		return
	case err != nil:
		c.t.Errorf("openapicheck: %s: cannot match the request to the document: %v", what, err)
		return
	}
	op := route.Method + " " + route.Path

	c.mu.Lock()
	defer c.mu.Unlock()
	c.covered[op]++

	// The validator reads bodies; give each call its own copy.
	vreq := req.Clone(req.Context())
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	vreq.GetBody = nil
	if resp.StatusCode < 400 {
		if ok, errs := c.v.ValidateHttpRequestSyncWithPathItem(vreq, route.PathItem, route.Path); !ok {
			for _, e := range errs {
				c.t.Errorf("openapicheck: %s (%s): the server accepted a request the document does not allow: %s%s",
					what, op, describe(e), excerpt("request body", reqBody))
			}
		}
		vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	vresp := *resp
	vresp.Request = vreq
	if withBody {
		vresp.Body = io.NopCloser(bytes.NewReader(respBody))
	} else {
		vresp.Body = http.NoBody
	}
	if ok, errs := c.v.GetResponseBodyValidator().ValidateResponseBodyWithPathItem(vreq, &vresp, route.PathItem, route.Path); !ok {
		for _, e := range errs {
			c.t.Errorf("openapicheck: %s (%s): response does not match the document: %s%s",
				what, op, describe(e), excerpt("response body", respBody))
		}
	}
}

// describe renders a validation error with its schema failures.
func describe(e *verrors.ValidationError) string {
	var b strings.Builder
	b.WriteString(e.Message)
	if e.Reason != "" && e.Reason != e.Message {
		b.WriteString(": ")
		b.WriteString(e.Reason)
	}
	for _, f := range e.SchemaValidationErrors {
		b.WriteString("\n\t- ")
		loc := f.FieldPath
		if loc == "" {
			loc = "/" + strings.Join(f.InstancePath, "/")
		}
		b.WriteString(loc)
		b.WriteString(": ")
		b.WriteString(f.Reason)
		if f.KeywordLocation != "" {
			b.WriteString(" (schema ")
			b.WriteString(f.KeywordLocation)
			b.WriteString(")")
		}
	}
	return b.String()
}

func excerpt(name string, body []byte) string {
	if len(body) == 0 {
		return ""
	}
	const max = 600
	s := string(body)
	if len(s) > max {
		s = s[:max] + "..."
	}
	return "\n\t" + name + ": " + strings.TrimSpace(s)
}
