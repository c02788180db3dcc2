package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strings"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// MaxOrigins is the most allowed origins a tenant may list.
const MaxOrigins = 50

// normalizeOrigin checks a browser origin, scheme://host[:port] (http or
// https, nothing after the host), and returns it as browsers send it
// (lowercase scheme and host).
func normalizeOrigin(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.Opaque != "" || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") || strings.ContainsAny(s, " \t") {
		return "", false
	}
	if u.Port() != "" {
		if p := u.Port(); strings.TrimLeft(p, "0123456789") != "" || len(p) > 5 {
			return "", false
		}
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host), true
}

// validVAPIDSubject: web push services want a mailto: or an https: URL
// (Apple refuses anything else).
func validVAPIDSubject(s string) bool {
	switch {
	case strings.HasPrefix(s, "mailto:"):
		a, err := mail.ParseAddress(strings.TrimPrefix(s, "mailto:"))
		return err == nil && a.Name == "" && len(s) <= 320
	case strings.HasPrefix(s, "https://"):
		u, err := url.Parse(s)
		return err == nil && u.Host != "" && u.User == nil && len(s) <= 2000
	}
	return false
}

// Settings returns the tenant's notification settings (empty when never set).
func (f *Feed) Settings(ctx context.Context, a auth.Actor, tenantID string) (wire.NotificationSettings, error) {
	if err := f.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return wire.NotificationSettings{}, err
	}
	var out wire.NotificationSettings
	err := f.db.Read(ctx, func(tx *store.Tx) (err error) {
		out, err = settingsTx(ctx, tx, tenantID)
		return err
	})
	return out, err
}

func settingsTx(ctx context.Context, tx *store.Tx, tenantID string) (wire.NotificationSettings, error) {
	out := wire.NotificationSettings{AllowedOrigins: []string{}}
	err := tx.QueryRow(ctx, "SELECT vapid_subject FROM notification_settings WHERE tenant_id = ?", tenantID).Scan(&out.VAPIDSubject)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return out, err
	}
	rows, err := tx.Query(ctx, "SELECT origin FROM notification_origins WHERE tenant_id = ? ORDER BY origin", tenantID)
	out.AllowedOrigins, err = store.Collect(rows, err, func(r store.Rows) (string, error) {
		var o string
		return o, r.Scan(&o)
	})
	return out, err
}

// PutSettings replaces the tenant's notification settings, whole: bad
// input (an origin that is not scheme://host[:port], a VAPID subject
// that is not mailto: or https:) changes nothing.
func (f *Feed) PutSettings(ctx context.Context, a auth.Actor, tenantID string, in wire.NotificationSettings) (wire.NotificationSettings, error) {
	if err := f.core.TenantAccess(a, tenantID, auth.PermKeysManage); err != nil {
		return wire.NotificationSettings{}, err
	}
	if len(in.AllowedOrigins) > MaxOrigins {
		return wire.NotificationSettings{}, fieldErr("allowed_origins", "too_many_origins", fmt.Sprintf("%d origins; at most %d", len(in.AllowedOrigins), MaxOrigins))
	}
	origins := make([]string, 0, len(in.AllowedOrigins))
	for i, o := range in.AllowedOrigins {
		n, ok := normalizeOrigin(o)
		if !ok {
			return wire.NotificationSettings{}, fieldErr(fmt.Sprintf("allowed_origins[%d]", i), "invalid_origin",
				fmt.Sprintf("origin %q must be scheme://host[:port] (http or https, no path), as a browser sends it in Origin", store.SafeText(o)))
		}
		if !slices.Contains(origins, n) {
			origins = append(origins, n)
		}
	}
	if in.VAPIDSubject != "" && !validVAPIDSubject(in.VAPIDSubject) {
		return wire.NotificationSettings{}, fieldErr("vapid_subject", "invalid_vapid_subject",
			"vapid_subject must be a mailto: address or an https: URL (push services refuse others)")
	}
	slices.Sort(origins)
	now := f.now()
	var out wire.NotificationSettings
	err := f.db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO notification_settings (tenant_id, vapid_subject, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (tenant_id) DO UPDATE SET vapid_subject = excluded.vapid_subject, updated_at = excluded.updated_at`,
			tenantID, in.VAPIDSubject, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM notification_origins WHERE tenant_id = ?", tenantID); err != nil {
			return err
		}
		for _, o := range origins {
			if _, err := tx.Exec(ctx, "INSERT INTO notification_origins (tenant_id, origin) VALUES (?, ?)", tenantID, o); err != nil {
				return err
			}
		}
		var err error
		if out, err = settingsTx(ctx, tx, tenantID); err != nil {
			return err
		}
		return f.core.Audit(ctx, tx, a, tenantID, "notification_settings.update", "notification_settings", tenantID,
			map[string]any{"after": out})
	})
	return out, err
}

// VAPIDSubject is the tenant's VAPID subject ("" when unset), for web push.
func (f *Feed) VAPIDSubject(ctx context.Context, tenantID string) (string, error) {
	var s wire.NotificationSettings
	err := f.db.Read(ctx, func(tx *store.Tx) (err error) {
		s, err = settingsTx(ctx, tx, tenantID)
		return err
	})
	return s.VAPIDSubject, err
}

// originAllowed says whether tenantID allows origin ("" tenant: whether
// any tenant does, for a preflight, which carries no token).
func (f *Feed) originAllowed(ctx context.Context, tenantID, origin string) (bool, error) {
	o, ok := normalizeOrigin(origin)
	if !ok {
		return false, nil
	}
	var n int
	err := f.db.Read(ctx, func(tx *store.Tx) error {
		if tenantID == "" {
			return tx.QueryRow(ctx, "SELECT COUNT(*) FROM notification_origins WHERE origin = ?", o).Scan(&n)
		}
		return tx.QueryRow(ctx, "SELECT COUNT(*) FROM notification_origins WHERE tenant_id = ? AND origin = ?", tenantID, o).Scan(&n)
	})
	return n > 0, err
}

// corsHeaders are the request headers a feed call from a browser sends.
const corsHeaders = "Authorization, Last-Event-ID, Content-Type"

// CORS answers the response to a browser's cross-origin request with
// Access-Control-Allow-Origin when tenantID allows its Origin (""
// tenant: when any tenant does; used for answers given before the token
// named a tenant, such as a 401, which carry no data). Other origins get
// no CORS headers, so the browser keeps the answer from the page. The
// push routes call it too.
func (f *Feed) CORS(w http.ResponseWriter, r *http.Request, tenantID string) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	w.Header().Add("Vary", "Origin")
	ok, err := f.originAllowed(r.Context(), tenantID, origin)
	if err != nil || !ok {
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", origin)
	w.Header().Set("Access-Control-Expose-Headers", "Joist-Correlation-Id")
}

// Preflight answers a CORS preflight (OPTIONS) of a feed route. It
// carries no token, so it is allowed when any tenant lists the origin;
// the request that follows is answered only when the token's own tenant
// lists it. Any other origin gets 403 without CORS headers.
func (f *Feed) Preflight(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	w.Header().Add("Vary", "Origin")
	ok, err := f.originAllowed(r.Context(), "", origin)
	if err != nil {
		f.log.Warn("feed: preflight", "err", err)
	}
	if !ok {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
	h.Set("Access-Control-Allow-Headers", corsHeaders)
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}
