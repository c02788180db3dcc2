package httpapi

import (
	"fmt"
	"net/http"
)

// MaxHeaderBytes is joist's limit on a request's header block (request
// line and headers). The HTTP server's own limit is set well above it
// (ServerMaxHeaderBytes), so that a request over joist's limit gets a
// problem+json 431 saying so, not the server's bare text answer.
const MaxHeaderBytes = 32 << 10

// ServerMaxHeaderBytes is the http.Server's MaxHeaderBytes: past it, the
// server answers 431 itself, before joist sees the request.
const ServerMaxHeaderBytes = 1 << 20

// LimitHeaders answers 431 request_header_fields_too_large (problem+json)
// to a request whose header block is over MaxHeaderBytes.
func LimitHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
		for k, vs := range r.Header {
			for _, v := range vs {
				n += len(k) + len(v) + 4
			}
		}
		if n > MaxHeaderBytes {
			p := NewProblem(http.StatusRequestHeaderFieldsTooLarge, "headers_too_large",
				fmt.Sprintf("the request's headers are %d bytes; the limit is %d: send fewer or shorter headers (large data belongs in the body)", n, MaxHeaderBytes))
			Correlation(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				writeProblem(w, p, CorrelationID(r.Context()))
			})).ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
