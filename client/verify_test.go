package client_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/joist-dev/joist/client"
	"github.com/joist-dev/joist/internal/signing"
)

// The Standard Webhooks specification's test vector.
const (
	vectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTS     = "1614265330"
	vectorBody   = `{"test": 2432232314}`
	vectorSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func vectorRequest(sig, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/jobs/remind", bytes.NewBufferString(body))
	r.Header.Set("webhook-id", vectorID)
	r.Header.Set("webhook-timestamp", vectorTS)
	r.Header.Set("webhook-signature", sig)
	return r
}

func TestVerifyStandardWebhooksVector(t *testing.T) {
	at := func() time.Time { return time.Unix(1614265330, 0).Add(time.Minute) }
	other := signing.NewSecret()
	for _, tc := range []struct {
		name    string
		v       client.Verifier
		sig     string
		body    string
		wantErr error
	}{
		{"vector", client.Verifier{Secrets: []string{vectorSecret}, Now: at}, vectorSig, vectorBody, nil},
		{"secret without whsec_", client.Verifier{Secrets: []string{vectorSecret[6:]}, Now: at}, vectorSig, vectorBody, nil},
		{"rotation: new secret first, request signed with both", client.Verifier{Secrets: []string{other, vectorSecret}, Now: at},
			"v1,bm90IHRoaXMgb25l " + vectorSig, vectorBody, nil},
		{"unknown versions are skipped", client.Verifier{Secrets: []string{vectorSecret}, Now: at}, "v2,xyz " + vectorSig, vectorBody, nil},
		{"wrong secret", client.Verifier{Secrets: []string{other}, Now: at}, vectorSig, vectorBody, client.ErrSignature},
		{"tampered body", client.Verifier{Secrets: []string{vectorSecret}, Now: at}, vectorSig, `{"test": 2432232315}`, client.ErrSignature},
		{"too old", client.Verifier{Secrets: []string{vectorSecret}, Now: func() time.Time { return at().Add(time.Hour) }}, vectorSig, vectorBody, client.ErrTimestamp},
		{"tolerance", client.Verifier{Secrets: []string{vectorSecret}, Tolerance: 2 * time.Hour, Now: func() time.Time { return at().Add(time.Hour) }}, vectorSig, vectorBody, nil},
		{"unsigned", client.Verifier{Secrets: []string{vectorSecret}, Now: at}, "", vectorBody, client.ErrNoSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := vectorRequest(tc.sig, tc.body)
			body, err := tc.v.VerifyRequest(r)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			again, _ := io.ReadAll(r.Body)
			if string(body) != tc.body || string(again) != tc.body {
				t.Fatalf("body %q, body left for the handler %q", body, again)
			}
		})
	}
}

// TestVerifyPushWhatJoistSigns: what joist's signer sends during a
// rotation (one signature per live secret) passes with either secret.
func TestVerifyPushWhatJoistSigns(t *testing.T) {
	oldS, newS := signing.NewSecret(), signing.NewSecret()
	body := []byte(`{"booking":42}`)
	r := httptest.NewRequest(http.MethodPost, "/jobs/remind", bytes.NewReader(body))
	if err := signing.Sign(r.Header, []string{newS, oldS}, "job_01abc", time.Now(), body); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{oldS, newS} {
		r.Body = io.NopCloser(bytes.NewReader(body))
		if got, err := client.VerifyPush(r, s); err != nil || string(got) != string(body) {
			t.Fatalf("VerifyPush with one of the live secrets: %q, %v", got, err)
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if _, err := client.VerifyPush(r, signing.NewSecret()); !errors.Is(err, client.ErrSignature) {
		t.Fatalf("VerifyPush with a retired secret: %v", err)
	}
}
