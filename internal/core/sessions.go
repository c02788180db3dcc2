package core

import (
	"context"
	"errors"
	"unicode/utf8"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/store"
)

// ErrLogin is the one answer to a failed login, whatever failed.
var ErrLogin = &Error{Kind: ErrUnauthorized, Code: "login_failed", Message: "email or password is wrong"}

// Login checks an operator's password and opens a session. It returns the
// session's cookie token, shown only here.
func (s *Service) Login(ctx context.Context, email, password, ip, userAgent, correlationID string) (string, store.Session, store.Operator, error) {
	var o store.Operator
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		o, err = tx.OperatorByEmail(ctx, email)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		auth.BurnPasswordCheck(password)
		return "", store.Session{}, o, ErrLogin
	}
	if err != nil {
		return "", store.Session{}, o, err
	}
	if o.PasswordHash == "" || !auth.CheckPassword(o.PasswordHash, password) || o.DisabledAt != nil {
		return "", store.Session{}, o, ErrLogin
	}
	token := auth.RandomToken(32)
	now := s.now()
	// The user agent is the client's text: cut to 300 bytes on a rune
	// boundary and stored safely (a browser may send bytes that are not UTF-8).
	if len(userAgent) > 300 {
		cut := 300
		for cut > 0 && !utf8.RuneStart(userAgent[cut]) {
			cut--
		}
		userAgent = userAgent[:cut]
	}
	userAgent = store.SafeText(userAgent)
	sess := store.Session{IDHash: auth.HashToken(token), OperatorID: o.ID, CSRFToken: auth.RandomToken(24), IP: ip, UserAgent: userAgent,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.opts.SessionTTL)}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.SessionInsert(ctx, sess); err != nil {
			return err
		}
		return s.audit(ctx, tx, OperatorActor(o, ip, correlationID), "", "operator.login", "operator", o.ID, nil)
	})
	return token, sess, o, err
}

// OperatorActor is the actor of an operator's dashboard request.
func OperatorActor(o store.Operator, ip, correlationID string) auth.Actor {
	return auth.Actor{Type: auth.ActorOperator, ID: o.ID, Role: auth.Role(o.Role), AllTenants: o.AllTenants,
		TenantIDs: o.TenantIDs, IP: ip, CorrelationID: correlationID}
}

// SessionCheck finds the live session of a cookie token and its enabled
// operator, extending the idle expiry at most once a minute.
func (s *Service) SessionCheck(ctx context.Context, token string) (store.Session, store.Operator, error) {
	var sess store.Session
	var o store.Operator
	now := s.now()
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		if sess, err = tx.SessionGet(ctx, auth.HashToken(token), now); err != nil {
			return err
		}
		o, err = tx.OperatorGet(ctx, sess.OperatorID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) || (err == nil && o.DisabledAt != nil) {
		return sess, o, ErrUnauthorized
	}
	if err != nil {
		return sess, o, err
	}
	if now.Sub(sess.LastSeenAt) > 60e9 {
		_ = s.db.Write(ctx, func(tx *store.Tx) error {
			return tx.SessionTouch(ctx, sess.IDHash, now, now.Add(s.opts.SessionTTL))
		})
	}
	return sess, o, nil
}

// Logout revokes a session.
func (s *Service) Logout(ctx context.Context, a auth.Actor, sess store.Session) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.SessionRevoke(ctx, sess.IDHash, s.now()); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "", "operator.logout", "operator", sess.OperatorID, nil)
	})
}
