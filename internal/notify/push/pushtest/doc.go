// Package pushtest holds local stand-ins of the push services for tests,
// real HTTPS servers on 127.0.0.1 that follow each service's documented
// API and check what a client sends as strictly as the real ones do:
//
//   - WebPushService: a web push service (RFC 8030) that verifies the
//     VAPID JWT (RFC 8292) and decrypts the aes128gcm payload (RFC 8291)
//     with the subscription's private key, by hand (crypto/ecdh, HKDF,
//     AES-GCM), independently of the sender's library.
//   - FCMService: Google's OAuth token endpoint and FCM's HTTP v1
//     messages:send.
//   - APNsService: Apple's push service, HTTP/2 only, with token-based
//     auth.
//
// It does not import the package it tests.
package pushtest
