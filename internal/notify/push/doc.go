// Package push sends one notification to one target: a browser's web push
// subscription (RFC 8030 with VAPID, RFC 8292, and the aes128gcm payload
// encryption of RFC 8291), a Firebase Cloud Messaging registration token
// (FCM HTTP v1) or an Apple device token (APNs, token-based auth over
// HTTP/2).
//
// It knows nothing of joist's store: the caller passes the HTTP client
// (or, for APNs, the dialer) every request goes through, and decides what
// to do with each Outcome: delete a gone target, retry later, or record
// a permanent failure. Package pushtest holds local stand-ins of the three
// services for tests.
package push
