package openapicheck_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/notify/push"
	"github.com/joist-dev/joist/internal/store"
)

// headerContactAuth stands in for the feed's contact tokens: the bearer
// "ctok:<tenant id>:<contact id>" speaks for that contact.
type headerContactAuth struct{}

func (headerContactAuth) Contact(r *http.Request) (string, string, error) {
	v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ctok:")
	tn, ct, ok2 := strings.Cut(v, ":")
	if !ok || !ok2 {
		return "", "", errors.New("not a contact token")
	}
	return tn, ct, nil
}

// pushCases exercises every push operation, successes and errors.
func pushCases(t *testing.T, c caller, env *apptest.Env, tenantID, key string) {
	t.Helper()
	env.App.Push.SetContactAuth(headerContactAuth{})
	var contactID string
	err := env.App.DB.Read(context.Background(), func(tx *store.Tx) error {
		ct, err := tx.Tenant(tenantID).ContactGet(context.Background(), "user_42")
		contactID = ct.ID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	tok := "ctok:" + tenantID + ":" + contactID
	c.want(200, "GET", "/v1/push/vapid-public-key", key, "")
	c.want(200, "GET", "/v1/push/vapid-public-key", tok, "")
	c.want(400, "GET", "/v1/push/vapid-public-key", env.RootKey, "")
	c.want(401, "GET", "/v1/push/vapid-public-key", "", "")
	k, _ := push.GenerateVAPIDKeys()
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	sub := `{"endpoint":"https://push.example.net/send/1","expirationTime":null,"keys":{"p256dh":"` + k.PublicKeyString() + `","auth":"` +
		base64.RawURLEncoding.EncodeToString(secret) + `"}}`
	c.want(201, "POST", "/v1/push/subscriptions", tok, sub)
	c.want(200, "POST", "/v1/push/subscriptions", tok, sub)
	c.want(400, "POST", "/v1/push/subscriptions", tok, `{"endpoint":"http://push.example.net/x","keys":{"p256dh":"x","auth":"y"}}`)
	c.want(401, "POST", "/v1/push/subscriptions", key, sub)
	c.want(200, "GET", "/v1/contacts/user_42/devices", key, "")
	c.want(204, "DELETE", "/v1/push/subscriptions", tok, `{"endpoint":"https://push.example.net/send/1"}`)
	c.want(404, "DELETE", "/v1/push/subscriptions", tok, `{"endpoint":"https://push.example.net/send/1"}`)
	c.want(401, "DELETE", "/v1/push/subscriptions", "", `{"endpoint":"https://push.example.net/send/1"}`)
	dev := `{"platform":"fcm","token":"fcm-token-1"}`
	c.want(201, "POST", "/v1/contacts/user_42/devices", key, dev, "Idempotency-Key", "dev-1")
	c.want(200, "POST", "/v1/contacts/user_42/devices", key, dev)
	c.want(400, "POST", "/v1/contacts/user_42/devices", key, `{"platform":"sms","token":"x"}`)
	c.want(404, "POST", "/v1/contacts/nobody/devices", key, dev)
	c.want(200, "GET", "/v1/contacts/user_42/devices", key, "")
	c.want(404, "GET", "/v1/contacts/nobody/devices", key, "")
	c.want(204, "DELETE", "/v1/contacts/user_42/devices", key, dev)
	c.want(404, "DELETE", "/v1/contacts/user_42/devices", key, dev)
	c.want(400, "DELETE", "/v1/contacts/user_42/devices", key, `{"platform":"apns","token":"zz"}`)
}
