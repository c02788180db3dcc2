package email

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/joist-dev/joist/internal/egress"
	"github.com/joist-dev/joist/internal/store"
)

// tenantProviders caches the providers built from tenants' own settings,
// by tenant, each with the settings' version it was built from. Every send
// reads the version (one primary-key lookup), so a change made on any node
// takes effect at the next send everywhere.
type tenantProviders struct {
	mu sync.Mutex
	m  map[string]builtProvider
}

type builtProvider struct {
	version string
	p       Provider
}

// buildProvider makes the provider of a tenant's own settings, reaching
// its destinations through the guarded client's Customer class, behind a
// rate limit of its own account (provider:tenant id).
func (s *Service) buildProvider(st Settings) (Provider, error) {
	if st.Provider == ProviderOutbox {
		return Outbox{}, nil
	}
	var secret string
	if st.Secret != "" {
		if s.opts.Box == nil {
			return nil, errors.New("no secret box to open the secret with")
		}
		b, err := s.opts.Box.Open(st.Secret)
		if err != nil {
			return nil, fmt.Errorf("open the sealed secret: %w", err)
		}
		secret = string(b)
	}
	g := s.egress
	if g == nil {
		g = egress.Default()
	}
	var p Provider
	switch st.Provider {
	case ProviderSMTP:
		raw, err := joinSMTPURL(st.Base, secret)
		if err != nil {
			return nil, err
		}
		if p, err = ParseSMTPURL(raw, nil, g.DialContext(egress.Customer)); err != nil {
			return nil, err
		}
	case ProviderResend:
		p = NewResend(secret, st.Base, g.Client(egress.Customer))
	case ProviderPostmark:
		p = NewPostmark(secret, st.Base, g.Client(egress.Customer))
	default:
		return nil, fmt.Errorf("unknown provider %q", st.Provider)
	}
	rate := st.Rate
	if rate == 0 {
		rate = defaultRate(st.Provider)
	}
	if rate > 0 {
		p = rateLimited{Provider: p, lim: newRateLimiter(s.db, st.Provider+":"+st.TenantID, rate, s.now)}
	}
	return p, nil
}

// usesOutbox reports whether tenantID's email goes to the outbox (its own
// settings say outbox, or it has none and the instance's provider is the
// outbox): then any from is accepted. Read inside the accept transaction.
func (s *Service) usesOutbox(ctx context.Context, tx *store.Tx, tenantID string) (bool, error) {
	provider, _, err := settingsVersion(ctx, tx, tenantID)
	if errors.Is(err, store.ErrNotFound) {
		return s.opts.Provider.Name() == ProviderOutbox, nil
	}
	return provider == ProviderOutbox, err
}
