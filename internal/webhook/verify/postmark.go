package verify

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
)

// verifyPostmark checks the HTTP Basic credentials Postmark sends from the
// webhook URL (https://user:password@host/in/...): Postmark does not sign
// its webhooks. Both sides are hashed before the constant-time compare, so
// neither the content nor the length of a secret leaks through timing.
//
// Postmark's records have no event id of their own: bounces and spam
// complaints carry a numeric ID, so the event id is RecordType + ":" + ID;
// deliveries (and any record without an ID) are RecordType + ":" +
// MessageID + ":" + Recipient, one per message and recipient.
func verifyPostmark(keys []key, req Request) (Result, *Error) {
	h := req.Header.Get("Authorization")
	if h == "" {
		return Result{}, fail(CodeMissingSignature, "no Authorization header: put the source's credentials in the webhook URL (https://user:password@host/in/...)")
	}
	scheme, enc, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return Result{}, fail(CodeMalformedSignature, "Authorization is not Basic")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return Result{}, fail(CodeMalformedSignature, "Authorization Basic credentials are not base64")
	}
	got := sha256.Sum256(raw)
	idx := -1
	for _, k := range keys {
		want := sha256.Sum256([]byte(k.value))
		if subtle.ConstantTimeCompare(got[:], want[:]) == 1 && idx < 0 {
			idx = k.index
		}
	}
	if idx < 0 {
		return Result{}, fail(CodeBadSignature, "the Basic credentials match no configured secret")
	}
	doc, perr := decodeJSON(req.Body)
	if perr != nil {
		return Result{}, perr
	}
	res := Result{EventType: pointerString(doc, "/RecordType"), SecretIndex: idx}
	if res.EventType == "" {
		return Result{}, fail(CodeBadBody, "body has no RecordType: not a Postmark webhook")
	}
	if id := pointerString(doc, "/ID"); id != "" {
		res.EventID = res.EventType + ":" + id
	} else if mid := pointerString(doc, "/MessageID"); mid != "" {
		res.EventID = res.EventType + ":" + mid + ":" + strings.ToLower(pointerString(doc, "/Recipient"))
	}
	return res, nil
}
