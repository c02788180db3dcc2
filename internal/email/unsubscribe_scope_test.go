package email_test

import (
	"testing"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/email"
	"github.com/joist-dev/joist/internal/store"
)

// TestUnsubscribeTokenScopes: a token names the marketing category or a
// notification scope (the notification system records those); any other
// scope is a malformed token, even correctly signed.
func TestUnsubscribeTokenScopes(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, store.SQLite)
	svc := env.App.Email
	for _, scope := range []string{email.ScopeMarketing, email.ScopeNotification + "type:booking.created", email.ScopeNotification + "group:bookings"} {
		u, err := svc.ParseUnsubscribeToken(svc.UnsubscribeToken("tn_x", "Ann <Ann@Example.com>", scope))
		if err != nil || u.Scope != scope || u.Address != "ann@example.com" || u.TenantID != "tn_x" {
			t.Fatalf("%s: %+v %v", scope, u, err)
		}
	}
	for _, scope := range []string{"transactional", "notificationx", ""} {
		if _, err := svc.ParseUnsubscribeToken(svc.UnsubscribeToken("tn_x", "ann@example.com", scope)); err == nil {
			t.Fatalf("scope %q accepted", scope)
		}
	}
}
