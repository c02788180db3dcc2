package admin

import (
	"net/http"
	"net/url"

	"github.com/joist-dev/joist/internal/store"
)

// Tenant finds the {tenant} of the path within the operator's reach: a
// tenant out of reach is not found, as an unknown one.
func (a *Admin) Tenant(r *http.Request, op *Op) (store.Tenant, error) {
	return a.core.TenantGet(r.Context(), op.Actor, r.PathValue("tenant"))
}

// NextURL is the link to the page after this one (same path and filters,
// the next cursor), or "" on the last page.
func NextURL(r *http.Request, cursor string) string {
	if cursor == "" {
		return ""
	}
	q := url.Values{}
	for k, v := range r.URL.Query() {
		if k != "cursor" && k != "flash" {
			q[k] = v
		}
	}
	q.Set("cursor", cursor)
	return r.URL.Path + "?" + q.Encode()
}
