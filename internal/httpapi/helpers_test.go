package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/apitest/openapicheck"
	"github.com/joist-dev/joist/internal/apptest"
)

// httpClient is the client every API test uses: each real request and
// response it carries is validated against /openapi.json.
func httpClient(t *testing.T) *http.Client {
	t.Helper()
	c := openapicheck.New(t, apptest.OpenAPI(t))
	return &http.Client{Timeout: 30 * time.Second, Transport: c.Transport(http.DefaultTransport)}
}
