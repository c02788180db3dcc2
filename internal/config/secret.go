package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func hexDecode(s string) ([]byte, error) { return hex.DecodeString(strings.TrimSpace(s)) }

// SecretKeyBytes returns the 32-byte key that encrypts stored secrets. On
// SQLite with no key configured it is read from, or generated into,
// DATA/secret.key with mode 0600.
func (c *Config) SecretKeyBytes() ([]byte, error) {
	if c.SecretKey != "" {
		return hexDecode(c.SecretKey)
	}
	if c.DatabaseURL != "" {
		return nil, errors.New("JOIST_SECRET_KEY: required with PostgreSQL")
	}
	path := filepath.Join(c.DataDir, "secret.key")
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := hexDecode(string(b))
		if err != nil || len(k) != 32 {
			return nil, fmt.Errorf("%s: not 64 hex characters; restore it from a backup (stored secrets cannot be read without it)", path)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, err
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.WriteString(hex.EncodeToString(k) + "\n"); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	return k, f.Close()
}
