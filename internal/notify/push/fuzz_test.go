package push_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/notify/push"
)

// FuzzValidateSubscription: whatever a browser (or an attacker) posts,
// validation never panics, and what it accepts is an https endpoint with
// a 65-byte key and a 16-byte secret.
func FuzzValidateSubscription(f *testing.F) {
	k, _ := push.GenerateVAPIDKeys()
	p := k.PublicKeyString()
	f.Add("https://fcm.googleapis.com/fcm/send/abc", p, "AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("https://updates.push.services.mozilla.com/wpush/v2/x", p+"==", "AAAAAAAAAAAAAAAAAAAAAA==")
	f.Add("http://x", "", "")
	f.Add("https://[::1]:99999/", "BA", "\x00")
	f.Fuzz(func(t *testing.T, endpoint, p256dh, auth string) {
		err := push.ValidateSubscription(push.Subscription{Endpoint: endpoint, P256dh: p256dh, Auth: auth})
		if err != nil {
			return
		}
		if !strings.HasPrefix(endpoint, "https://") {
			t.Fatalf("accepted endpoint %q", endpoint)
		}
		kb, err1 := base64.RawURLEncoding.DecodeString(strings.TrimRight(p256dh, "="))
		ab, err2 := base64.RawURLEncoding.DecodeString(strings.TrimRight(auth, "="))
		if err1 != nil || err2 != nil || len(kb) != 65 || len(ab) != 16 {
			t.Fatalf("accepted keys %q %q", p256dh, auth)
		}
	})
}
