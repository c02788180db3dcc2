// Package verify checks the signatures of inbound webhooks from the
// providers joist knows, on the raw body before anything parses it, and
// reads the provider's event id (the dedup key) and event type.
//
// Every unexpired secret of a source is tried (rotation), MACs are compared
// in constant time, and signed timestamps must lie within the tolerance
// (default 300 s) in both directions, past and future. A rejected request
// is an *Error with a stable Code for metrics and the rejected-requests log.
// The package does no I/O and keeps no state; the caller passes the clock.
//
//	| provider | signature header(s) | scheme | event id | event type |
//	|---|---|---|---|---|
//	| stripe | Stripe-Signature: t=,v1=[,v1=...] | hex HMAC-SHA256 of t + "." + body, key = the whole whsec_ string; v0 and unknown schemes ignored; 300 s | body "id" | body "type" (and Livemode from "livemode") |
//	| github | X-Hub-Signature-256: sha256=hex | HMAC-SHA256 of body | X-GitHub-Delivery | X-GitHub-Event |
//	| shopify | X-Shopify-Hmac-Sha256 | base64 HMAC-SHA256 of body | X-Shopify-Webhook-Id | X-Shopify-Topic |
//	| slack | X-Slack-Signature: v0=hex, X-Slack-Request-Timestamp | HMAC-SHA256 of "v0:" + ts + ":" + body; 300 s | body event_id (form bodies: trigger_id); url_verification gives Challenge instead | body event.type, else body type; "slash_command"; interactivity payload type |
//	| twilio | X-Twilio-Signature (optional X-Twilio-Webhooks-Signature-Settings) | base64 HMAC-SHA1 (or SHA-256 per settings) of public URL + form params sorted by name (name+value); JSON: URL carries bodySHA256 = hex SHA-256 of body, URL alone signed | I-Twilio-Idempotency-Token | none (use TypePointer, e.g. "/MessageStatus") |
//	| standard_webhooks | webhook-id, webhook-timestamp, webhook-signature | "v1,"+base64 HMAC-SHA256 (whsec_ key) or "v1a,"+base64 ed25519 (whpk_ key) of id.ts.body, space-separated list; 300 s | webhook-id | body "type" if present |
//	| svix (Resend) | svix-id, svix-timestamp, svix-signature | as standard_webhooks | svix-id | body "type" if present |
//	| resend | as svix | as svix | svix-id | body "type" |
//	| postmark | Authorization: Basic (the credentials of the webhook URL) | "user:password" compared with each secret in constant time (SHA-256 of both, so the length leaks nothing) | body RecordType + ":" + ID (bounces, complaints), else RecordType + ":" + MessageID + ":" + Recipient (deliveries) | body RecordType |
//	| hmac | Config.Header (minus Config.Prefix) | hex or base64 HMAC-SHA256 or -SHA1 of body | IDHeader, else IDPointer, else "sha256:" + hex SHA-256 of the body | TypePointer |
//
// IDHeader, IDPointer and TypePointer, when set, override the provider's
// default place for the id and type. Pointers are RFC 6901 JSON pointers
// into the body; for form-encoded bodies "/Name" reads the form field Name.
//
// For the generic HMAC provider without IDHeader or IDPointer, the body hash
// stands in for an event id: a byte-identical redelivery is deduplicated,
// but two distinct events with identical bodies would be merged, so
// configure an id when the provider has one.
//
// Slack: Verify returns a Result with Challenge set (and no EventID) for a
// url_verification request; answer it with 200, ChallengeContentType and
// the Challenge bytes ({"challenge":"..."}, one of the forms Slack accepts),
// and store nothing.
//
// Twilio signs the URL it called, so Request.URL must be the public URL
// (JOIST_PUBLIC_URL + path + query) exactly as configured in Twilio. Like
// Twilio's SDKs, the URL is also tried with its port removed and with the
// scheme's default port added. A non-form body without bodySHA256 in the URL
// is refused (bad_body): nothing would cover it.
//
// The schemes are written by hand on purpose: each is a few lines of
// crypto/hmac, while the official libraries differ in rotation support,
// error detail and timestamp handling, and stripe-go would pull the whole
// Stripe SDK into the binary. The tests use those libraries (stripe-go,
// the Standard Webhooks and Svix Go libraries) as signers, so any
// disagreement with them fails a test.
//
// GitHub's legacy SHA-1 header X-Hub-Signature is not accepted; GitHub
// sends X-Hub-Signature-256 alongside it on every delivery.
package verify
