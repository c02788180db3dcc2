package httpapi_test

import (
	"net/http"
	"testing"
	"time"
)

// httpClient is the client every API test uses.
func httpClient(t *testing.T) *http.Client {
	t.Helper()
	return &http.Client{Timeout: 30 * time.Second}
}
