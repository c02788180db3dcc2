package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/egress"
	"github.com/joist-dev/joist/internal/notify/push"
	"github.com/joist-dev/joist/internal/secretbox"
	"github.com/joist-dev/joist/internal/store"
)

// ContactAuth authenticates an end user's request by its contact token
// (the feed's tokens): the tenant and the contact (joist's id, ct_...)
// it speaks for. An error that is an *httpapi.Problem is answered as it
// is; any other is 401.
type ContactAuth interface {
	Contact(r *http.Request) (tenantID, contactID string, err error)
}

// PushOptions configure the push channel.
type PushOptions struct {
	// Box seals the tenants' VAPID private keys (JOIST_SECRET_KEY).
	Box *secretbox.Box
	// Subject returns a tenant's VAPID subject (its notification
	// settings' vapid_subject); nil, or "" from it, means DefaultSubject.
	Subject func(ctx context.Context, tenantID string) (string, error)
	// DefaultSubject is the instance's VAPID subject (JOIST_VAPID_SUBJECT;
	// "" falls back to JOIST_PUBLIC_URL when it is https).
	DefaultSubject string
	// WebClient sends web push requests (default: the guarded client of
	// customer destinations, see PushClient).
	WebClient *http.Client
	// FCM and APNs send to phones; nil when not configured (their
	// devices are then not counted as targets).
	FCM  *push.FCM
	APNs *push.APNs
	// ContactAuth authenticates contact tokens (the feed's; settable
	// later with SetContactAuth).
	ContactAuth ContactAuth
	// CORS answers the cross-origin headers of a contact-token request
	// for tenantID ("" when the token was refused): the feed's, so a
	// browser page that may read the feed may subscribe too.
	CORS func(w http.ResponseWriter, r *http.Request, tenantID string)
	// Authenticate turns an API key into an actor, for the routes that
	// take an API key or a contact token (core.Service.Authenticate with
	// the root key's hash).
	Authenticate func(ctx context.Context, bearer string) (auth.Actor, error)
}

// Push is the push channel: tenants' VAPID keys, browsers' subscriptions
// and phones' devices per contact, and delivery to all of a contact's
// targets.
type Push struct {
	core  *core.Service
	db    *store.DB
	log   *slog.Logger
	now   func() time.Time
	opts  PushOptions
	web   *http.Client
	guard *egress.Guard

	contactAuth atomic.Pointer[ContactAuth]
	keys        sync.Map // tenant id -> push.VAPIDKeys, opened
	sends       *prometheus.CounterVec
}

// NewPush builds the push channel on d. c checks access and writes
// audit entries.
func NewPush(d core.Deps, c *core.Service, opts PushOptions) *Push {
	d = d.For("push")
	p := &Push{core: c, db: d.DB, log: d.Log, now: d.Now, opts: opts, web: opts.WebClient, guard: d.Egress,
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "joist_push_sends_total",
			Help: "Push messages sent to one target, by platform (web, fcm, apns) and outcome (delivered, gone, retry, failed)."},
			[]string{"platform", "outcome"})}
	d.Register(p.sends)
	if p.web == nil {
		p.web = PushClient(d.Egress, egress.Customer, nil)
	}
	if opts.ContactAuth != nil {
		p.SetContactAuth(opts.ContactAuth)
	}
	return p
}

// SetContactAuth sets how contact tokens are authenticated (the feed,
// built after Push; tests use a stand-in).
func (p *Push) SetContactAuth(ca ContactAuth) { p.contactAuth.Store(&ca) }

// PushClient is an HTTP client for push requests of class c through
// guard g: every request's URL is checked (CheckURL) and every
// connection dialled by the guard; roots, when set, are the trusted CAs
// (the system's plus JOIST_PUSH_CA). It follows no redirects (push
// services do not redirect).
func PushClient(g *egress.Guard, c egress.Class, roots *x509.CertPool) *http.Client {
	t := &http.Transport{
		Proxy:               nil,
		DialContext:         g.DialContext(c),
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
	}
	return &http.Client{
		Transport:     checkedRT{g: g, c: c, base: t},
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// checkedRT checks each request's URL with the guard before sending it.
type checkedRT struct {
	g    *egress.Guard
	c    egress.Class
	base http.RoundTripper
}

func (t checkedRT) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.g.CheckURL(t.c, req.URL.String()); err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	return t.base.RoundTrip(req)
}

// PushRoots is the system's CA pool plus the PEM certificates in extra
// (JOIST_PUSH_CA); nil when extra is empty (the system's alone).
func PushRoots(extra []byte) (*x509.CertPool, error) {
	if len(extra) == 0 {
		return nil, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(extra) {
		return nil, errors.New("JOIST_PUSH_CA holds no PEM certificate")
	}
	return pool, nil
}

// vapidKeys returns the tenant's VAPID keys, made and stored (sealed) on
// first use. Two nodes making them at once keep the first stored.
func (p *Push) vapidKeys(ctx context.Context, a auth.Actor, tenantID string) (push.VAPIDKeys, error) {
	if k, ok := p.keys.Load(tenantID); ok {
		return k.(push.VAPIDKeys), nil
	}
	if p.opts.Box == nil {
		return push.VAPIDKeys{}, errors.New("push: no secret box to seal VAPID keys with")
	}
	var sealed string
	err := p.db.Read(ctx, func(tx *store.Tx) error {
		return tx.QueryRow(ctx, `SELECT private_key FROM push_vapid_keys WHERE tenant_id = ?`, tenantID).Scan(&sealed)
	})
	if errors.Is(err, store.ErrNotFound) {
		fresh, gerr := push.GenerateVAPIDKeys()
		if gerr != nil {
			return push.VAPIDKeys{}, gerr
		}
		err = p.db.Write(ctx, func(tx *store.Tx) error {
			n, err := tx.Exec(ctx, `INSERT INTO push_vapid_keys (tenant_id, public_key, private_key, created_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (tenant_id) DO NOTHING`, tenantID, fresh.PublicKeyString(), p.opts.Box.Seal(fresh.Private), p.now())
			if err != nil {
				return err
			}
			if n == 1 {
				if err := p.core.Audit(ctx, tx, a, tenantID, "push.vapid_key_created", "vapid_key", tenantID,
					map[string]string{"public_key": fresh.PublicKeyString()}); err != nil {
					return err
				}
			}
			return tx.QueryRow(ctx, `SELECT private_key FROM push_vapid_keys WHERE tenant_id = ?`, tenantID).Scan(&sealed)
		})
	}
	if err != nil {
		return push.VAPIDKeys{}, err
	}
	priv, err := p.opts.Box.Open(sealed)
	if err != nil {
		return push.VAPIDKeys{}, err
	}
	k, err := push.VAPIDKeysFromPrivate(priv)
	if err != nil {
		return push.VAPIDKeys{}, err
	}
	p.keys.Store(tenantID, k)
	return k, nil
}

// subject is the tenant's VAPID subject.
func (p *Push) subject(ctx context.Context, tenantID string) (string, error) {
	if p.opts.Subject != nil {
		s, err := p.opts.Subject(ctx, tenantID)
		if err != nil {
			return "", err
		}
		if s != "" {
			return s, nil
		}
	}
	return p.opts.DefaultSubject, nil
}

// DefaultVAPIDSubject is JOIST_VAPID_SUBJECT, or else the public URL when
// it is https ("" when neither: web push cannot be sent until a tenant's
// settings name one).
func DefaultVAPIDSubject(configured, publicURL string) string {
	if configured != "" {
		return configured
	}
	if strings.HasPrefix(publicURL, "https://") {
		return publicURL
	}
	return ""
}

// errNotConfigured says a platform's sender is not configured.
func errNotConfigured(platform string) string {
	switch platform {
	case PlatformFCM:
		return "FCM is not configured (JOIST_FCM_CREDENTIALS)"
	case PlatformAPNs:
		return "APNs is not configured (JOIST_APNS_KEY, JOIST_APNS_KEY_ID, JOIST_APNS_TEAM_ID, JOIST_APNS_TOPIC)"
	}
	return fmt.Sprintf("platform %q", platform)
}
