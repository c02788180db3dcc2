package email

import (
	"context"
	"strings"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/store"
)

// SendTx is Send inside the caller's transaction, for systems that send
// email as part of their own change (the notification system's fan-out):
// the email, its send job and its timeline entry commit or roll back with
// tx. The caller has checked access. key is kept with the email as
// "send:"+key, so the same key in a later transaction finds the email
// instead of storing another. Bad input (a template that does not render,
// a sender domain not allowed) is a *core.Error returned before anything
// is written.
func (s *Service) SendTx(ctx context.Context, tx *store.Tx, a auth.Actor, tenantID, key string, in Input) (Email, error) {
	now := s.now()
	c, err := s.check("", in, now)
	if err != nil {
		return Email{}, err
	}
	c.IdempotencyKey = idemKey(key, false, 0)
	return s.store(ctx, tx, tx.Tenant(tenantID), a, c, nil, now)
}

// SuppressedTx reports whether address is suppressed for category
// (transactional or marketing) in tenantID's suppressions, reading in tx.
func (s *Service) SuppressedTx(ctx context.Context, tx *store.Tx, tenantID, address, category string) (bool, error) {
	_, found, err := scope{tx.Tenant(tenantID)}.suppressionFind(ctx, []string{strings.ToLower(bareAddress(address))}, category, s.now())
	return found, err
}
