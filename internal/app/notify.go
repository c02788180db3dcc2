package app

import (
	"context"

	"github.com/joist-dev/joist/wire"
)

// notifyPreferences hands the feed the notification system's preference
// functions; the notification system is built after the feed (it tells
// the feed of new notifications), so it is looked up at call time.
type notifyPreferences struct{ a *App }

func (p notifyPreferences) Preferences(ctx context.Context, tenantID, contactID string) (wire.NotificationPreferences, error) {
	return p.a.Notify.Preferences(ctx, tenantID, contactID)
}

func (p notifyPreferences) SetPreferences(ctx context.Context, tenantID, contactID string, in wire.NotificationPreferencesPut) (wire.NotificationPreferences, error) {
	return p.a.Notify.SetPreferences(ctx, tenantID, contactID, in)
}
