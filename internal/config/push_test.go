package config

import (
	"strings"
	"testing"
)

// TestPushSettings: the VAPID subject is mailto: or https:, the base URLs
// absolute (APNs' https), the APNs settings all four or none; each error
// names its setting.
func TestPushSettings(t *testing.T) {
	apns := map[string]string{"JOIST_APNS_KEY": "/k.p8", "JOIST_APNS_KEY_ID": "ABC123DEFG", "JOIST_APNS_TEAM_ID": "TEAM123456", "JOIST_APNS_TOPIC": "dev.x"}
	c, err := load(t, nil, apns)
	if err != nil || c.APNsTopic != "dev.x" || c.FCMAPIBase != "https://fcm.googleapis.com" {
		t.Fatalf("%+v %v", c, err)
	}
	for _, bad := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"JOIST_VAPID_SUBJECT": "ops@example.com"}, "JOIST_VAPID_SUBJECT"},
		{map[string]string{"JOIST_VAPID_SUBJECT": "http://example.com"}, "JOIST_VAPID_SUBJECT"},
		{map[string]string{"JOIST_FCM_API_BASE": "fcm.googleapis.com"}, "JOIST_FCM_API_BASE"},
		{map[string]string{"JOIST_FCM_TOKEN_URL": "://x"}, "JOIST_FCM_TOKEN_URL"},
		{map[string]string{"JOIST_APNS_API_BASE": "http://api.push.apple.com"}, "JOIST_APNS_API_BASE"},
		{map[string]string{"JOIST_APNS_KEY": "/k.p8"}, "set all four or none"},
		{map[string]string{"JOIST_APNS_KEY": "/k.p8", "JOIST_APNS_KEY_ID": "short", "JOIST_APNS_TEAM_ID": "TEAM123456", "JOIST_APNS_TOPIC": "dev.x"}, "JOIST_APNS_KEY_ID"},
	} {
		_, err := load(t, nil, bad.env)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%v: %v", bad.env, err)
		}
	}
	if c, err := load(t, nil, map[string]string{"JOIST_VAPID_SUBJECT": "mailto:ops@example.com"}); err != nil || c.VAPIDSubject != "mailto:ops@example.com" {
		t.Fatalf("%v", err)
	}
}
