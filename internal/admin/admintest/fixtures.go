package admintest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/contacts"
	"github.com/joist-dev/joist/internal/operators"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/tenants"
)

// Password is the password of every operator MkOperator creates.
const Password = "a long enough password 42"

// CLI is the actor test fixtures are created with, as the bootstrap
// commands would: an owner reaching every tenant.
func CLI() auth.Actor {
	return auth.Actor{Type: auth.ActorCLI, ID: "cli", AllTenants: true, Role: auth.RoleOwner}
}

// MkTenant creates a tenant with slug, named after it.
func MkTenant(t *testing.T, env *apptest.Env, slug string) store.Tenant {
	t.Helper()
	tn, err := env.App.Tenants.Create(context.Background(), CLI(), tenants.Input{Slug: slug, Name: strings.ToUpper(slug[:1]) + slug[1:]})
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

// MkContact creates (or updates) the tenant's contact externalID.
func MkContact(t *testing.T, env *apptest.Env, tenantID, externalID, email, name string) store.Contact {
	t.Helper()
	c, _, err := env.App.Contacts.Upsert(context.Background(), CLI(), tenantID, externalID,
		contacts.Input{Email: &email, Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// MkOperator creates an operator with Password; no tenants means all.
func MkOperator(t *testing.T, env *apptest.Env, email string, role auth.Role, tenantIDs ...string) store.Operator {
	t.Helper()
	o, err := env.App.Operators.Create(context.Background(), CLI(), operators.Input{Email: email, Role: string(role),
		AllTenants: len(tenantIDs) == 0, TenantIDs: tenantIDs}, Password)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// AuditTargets lists the target ids of the audit entries with action,
// sorted.
func AuditTargets(t *testing.T, env *apptest.Env, action string) []string {
	t.Helper()
	entries, _, err := env.App.Core.AuditList(context.Background(), CLI(), store.Page{Limit: 500}, store.AuditFilter{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.TargetID)
	}
	slices.Sort(ids)
	return ids
}

// Target is the app's endpoint that HTTP-push jobs call: it answers every
// request with Status (200 until set) and counts the calls.
type Target struct {
	URL    string
	Status atomic.Int32 // the status of the next answers
	Calls  atomic.Int32 // requests received
}

// NewTarget starts a Target, closed when the test ends.
func NewTarget(t *testing.T) *Target {
	t.Helper()
	tg := &Target{}
	tg.Status.Store(http.StatusOK)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.Calls.Add(1)
		st := int(tg.Status.Load())
		w.WriteHeader(st)
		_, _ = w.Write([]byte("app says " + http.StatusText(st)))
	}))
	t.Cleanup(srv.Close)
	tg.URL = srv.URL
	return tg
}

// APIStatus calls the HTTP API with key and returns the status.
func APIStatus(t *testing.T, env *apptest.Env, key string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, env.URL+"/v1/contacts", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}
