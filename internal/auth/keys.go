package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"math/big"
	"strings"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// KeyPrefix starts every generated API key.
const KeyPrefix = "jk_"

// Base62 encodes b in base 62 (digits, upper, lower), fixed width for its length.
func Base62(b []byte) string {
	n := new(big.Int).SetBytes(b)
	// ceil(len*8 / log2(62)) characters.
	width := (len(b)*8*1000 + 5953) / 5954
	out := make([]byte, width)
	base := big.NewInt(62)
	mod := new(big.Int)
	for i := width - 1; i >= 0; i-- {
		n.DivMod(n, base, mod)
		out[i] = base62[mod.Int64()]
	}
	return string(out)
}

// RandomToken returns n random bytes in base62.
func RandomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return Base62(b)
}

// NewAPIKey returns a fresh key ("jk_" + 32 random bytes in base62), its
// visible prefix and its stored hash.
func NewAPIKey() (key, prefix, hash string) {
	key = KeyPrefix + RandomToken(32)
	return key, KeyDisplayPrefix(key), HashToken(key)
}

// KeyDisplayPrefix is the part of a key shown in lists: "jk_" and 6 characters.
func KeyDisplayPrefix(key string) string {
	if len(key) > 9 {
		return key[:9]
	}
	return key
}

// HashToken is the stored form of a high-entropy secret: hex SHA-256. (Keys
// and session tokens are random, so a fast hash is enough; passwords use argon2id.)
func HashToken(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// EqualHash compares two hashes in constant time.
func EqualHash(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// LooksLikeKey reports whether s has the shape of a joist API key, so a
// caller can tell a typo from a revoked key in error messages.
func LooksLikeKey(s string) bool {
	return strings.HasPrefix(s, KeyPrefix) && len(s) >= 40
}
