package secretbox

import (
	"crypto/hkdf"
	"crypto/sha256"
)

// DeriveKey derives a 32-byte key for one purpose from the instance's
// secret (JOIST_SECRET_KEY) with HKDF-SHA256, so that a key used for one
// thing (signing unsubscribe links) never equals the one sealing secrets,
// and knowing it reveals nothing of the secret.
func DeriveKey(secret []byte, purpose string) []byte {
	k, err := hkdf.Key(sha256.New, secret, nil, "joist "+purpose, 32)
	if err != nil {
		panic("secretbox: hkdf: " + err.Error()) // only for lengths above 255*32
	}
	return k
}
