package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// parseSlackHeaders parses X-Slack-Signature ("v0=<hex>") and
// X-Slack-Request-Timestamp (unix seconds).
func parseSlackHeaders(sig, ts string) ([]byte, int64, *Error) {
	sig, ts = strings.TrimSpace(sig), strings.TrimSpace(ts)
	if sig == "" {
		return nil, 0, fail(CodeMissingSignature, "no X-Slack-Signature header")
	}
	if ts == "" {
		return nil, 0, fail(CodeMissingSignature, "no X-Slack-Request-Timestamp header")
	}
	hexSig, ok := strings.CutPrefix(sig, "v0=")
	if !ok {
		return nil, 0, fail(CodeMalformedSignature, "X-Slack-Signature does not start with v0=")
	}
	mac, err := hex.DecodeString(hexSig)
	if err != nil || len(mac) != sha256.Size {
		return nil, 0, fail(CodeMalformedSignature, "X-Slack-Signature is not 64 hex digits after v0=")
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, 0, fail(CodeMalformedSignature, "X-Slack-Request-Timestamp is not a unix timestamp")
	}
	return mac, t, nil
}

func verifySlack(keys []key, req Request, now time.Time, tol time.Duration) (Result, *Error) {
	tsHeader := strings.TrimSpace(req.Header.Get("X-Slack-Request-Timestamp"))
	mac, ts, err := parseSlackHeaders(req.Header.Get("X-Slack-Signature"), tsHeader)
	if err != nil {
		return Result{}, err
	}
	idx := -1
	for _, k := range keys {
		// The header text itself is signed, exactly as sent.
		m := hmac.New(sha256.New, []byte(k.value))
		m.Write([]byte("v0:" + tsHeader + ":"))
		m.Write(req.Body)
		if hmac.Equal(m.Sum(nil), mac) {
			idx = k.index
			break
		}
	}
	if idx < 0 {
		return Result{}, fail(CodeBadSignature, "X-Slack-Signature does not match a configured secret")
	}
	signed := time.Unix(ts, 0)
	if !withinTolerance(signed, now, tol) {
		return Result{}, fail(CodeStaleTimestamp, "X-Slack-Request-Timestamp %d is more than %s from now", ts, tol)
	}
	res, err := slackEvent(req)
	if err != nil {
		return Result{}, err
	}
	res.Timestamp, res.SecretIndex = signed, idx
	return res, nil
}

// slackEvent reads the event id and type. Events API bodies are JSON
// (event_id; event.type, else the body's type). A url_verification body
// yields the challenge answer instead of an id. Slash commands and
// interactivity are form-encoded: the id is trigger_id (from the payload
// JSON field for interactivity), the type "slash_command" or the payload's
// type.
func slackEvent(req Request) (Result, *Error) {
	if isForm(req.Header) {
		vals, perr := url.ParseQuery(string(req.Body))
		if perr != nil {
			return Result{}, fail(CodeBadBody, "form body does not parse: %v", perr)
		}
		if p := vals.Get("payload"); p != "" {
			doc, err := decodeJSON([]byte(p))
			if err != nil {
				return Result{}, err
			}
			return Result{EventID: pointerString(doc, "/trigger_id"), EventType: pointerString(doc, "/type")}, nil
		}
		res := Result{EventID: vals.Get("trigger_id")}
		if vals.Get("command") != "" {
			res.EventType = "slash_command"
		}
		return res, nil
	}
	doc, err := decodeJSON(req.Body)
	if err != nil {
		return Result{}, err
	}
	typ := pointerString(doc, "/type")
	if typ == "url_verification" {
		// Slack accepts the challenge back as plain text, form or JSON;
		// JSON {"challenge": ...} is unambiguous whatever the value holds.
		b, _ := json.Marshal(map[string]string{"challenge": pointerString(doc, "/challenge")})
		return Result{EventType: typ, Challenge: b, ChallengeContentType: "application/json"}, nil
	}
	res := Result{EventID: pointerString(doc, "/event_id"), EventType: pointerString(doc, "/event/type")}
	if res.EventType == "" {
		res.EventType = typ
	}
	return res, nil
}
