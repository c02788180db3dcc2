package store

import (
	"context"
	"time"
)

// Session is an operator's dashboard session; the cookie token is stored hashed.
type Session struct {
	IDHash     string
	OperatorID string
	CSRFToken  string
	IP         string
	UserAgent  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	RevokedAt  *time.Time
}

// SessionInsert stores a new session.
func (tx *Tx) SessionInsert(ctx context.Context, s Session) error {
	_, err := tx.Exec(ctx, `INSERT INTO sessions (id_hash, operator_id, csrf_token, ip, user_agent, created_at, last_seen_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, s.IDHash, s.OperatorID, s.CSRFToken, s.IP, s.UserAgent, s.CreatedAt, s.LastSeenAt, s.ExpiresAt)
	return err
}

// SessionGet finds a live (unrevoked, unexpired) session.
func (tx *Tx) SessionGet(ctx context.Context, idHash string, now time.Time) (Session, error) {
	var s Session
	err := tx.QueryRow(ctx, `SELECT id_hash, operator_id, csrf_token, ip, user_agent, created_at, last_seen_at, expires_at, revoked_at
		FROM sessions WHERE id_hash = ? AND revoked_at IS NULL AND expires_at > ?`, idHash, now).
		Scan(&s.IDHash, &s.OperatorID, &s.CSRFToken, &s.IP, &s.UserAgent, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt, &s.RevokedAt)
	return s, err
}

// SessionTouch extends a session's idle expiry.
func (tx *Tx) SessionTouch(ctx context.Context, idHash string, now, expires time.Time) error {
	_, err := tx.Exec(ctx, "UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id_hash = ?", now, expires, idHash)
	return err
}

// SessionRevoke ends one session.
func (tx *Tx) SessionRevoke(ctx context.Context, idHash string, now time.Time) error {
	_, err := tx.Exec(ctx, "UPDATE sessions SET revoked_at = ? WHERE id_hash = ? AND revoked_at IS NULL", now, idHash)
	return err
}

// SessionRevokeOperator ends every session of an operator (password reset, disable).
func (tx *Tx) SessionRevokeOperator(ctx context.Context, operatorID string, now time.Time) error {
	_, err := tx.Exec(ctx, "UPDATE sessions SET revoked_at = ? WHERE operator_id = ? AND revoked_at IS NULL", now, operatorID)
	return err
}
