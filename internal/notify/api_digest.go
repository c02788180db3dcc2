package notify

import (
	"context"
	_ "embed"
	"errors"
	"net/http"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/httpapi"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

//go:embed openapi_digests.json
var openapiDigestsJSON []byte

// DigestOpenAPI is the fragment of /openapi.json that describes the
// digests' routes.
func DigestOpenAPI() []byte { return openapiDigestsJSON }

// DigestAPI is the digests' part of the HTTP API: GET /v1/digests/{digest}.
func (s *Service) DigestAPI() httpapi.System {
	return httpapi.System{Name: "notify_digests", OpenAPI: DigestOpenAPI(), Routes: []httpapi.Route{
		{Method: "GET", Pattern: "/v1/digests/{digest}", Tenant: "header", Handler: func(w http.ResponseWriter, r *httpapi.Request) error {
			d, err := s.DigestGet(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("digest"))
			if err != nil {
				return err
			}
			return httpapi.WriteJSON(w, http.StatusOK, DigestView(d))
		}},
	}}
}

// DigestDetail is a digest with its contact's external id, its first
// notifications (with their deliveries) and its own deliveries.
type DigestDetail struct {
	Digest
	ContactExternalID string
	Notifications     []Notification
	Deliveries        []Delivery
}

// DigestView is a digest as the API shows it.
func DigestView(d DigestDetail) wire.NotificationDigestView {
	v := wire.NotificationDigestView{ID: d.ID, Contact: d.ContactExternalID, Type: d.Type, Key: d.Key, Status: d.Status, Count: d.Count,
		WindowStart: d.WindowStart.UTC(), WindowEnd: d.WindowEnd.UTC(), JobID: d.JobID, CorrelationID: d.CorrelationID,
		Notifications: httpapi.MapSlice(d.Notifications, NotificationView), Deliveries: []wire.NotificationDelivery{},
		CreatedAt: d.CreatedAt.UTC(), SentAt: httpapi.UTCPtr(d.SentAt)}
	if v.Notifications == nil {
		v.Notifications = []wire.Notification{}
	}
	for _, x := range d.Deliveries {
		v.Deliveries = append(v.Deliveries, wire.NotificationDelivery{ID: x.ID, Channel: x.Channel, Status: x.Status, Reason: x.Reason,
			Detail: x.Detail, Target: x.Target, UpdatedAt: x.UpdatedAt.UTC()})
	}
	return v
}

// DigestGet returns the tenant's digest id with its first notifications
// and its deliveries; another tenant's is not found.
func (s *Service) DigestGet(ctx context.Context, a auth.Actor, tenantID, id string) (DigestDetail, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return DigestDetail{}, err
	}
	var d DigestDetail
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		sc := tx.Tenant(tenantID)
		var err error
		if d.Digest, err = scanDigest(tx.QueryRow(ctx, "SELECT "+digestCols+" FROM notification_digests WHERE tenant_id = ? AND id = ?",
			tenantID, id)); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, "SELECT COALESCE((SELECT external_id FROM contacts WHERE tenant_id = ? AND id = ?), '')", tenantID,
			d.ContactID).Scan(&d.ContactExternalID); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, event_id, contact_id, type, title, body, url, in_feed, created_at FROM notifications
			WHERE tenant_id = ? AND digest_id = ? ORDER BY id LIMIT ?`, tenantID, id, maxDigestEvents)
		d.Notifications, err = store.Collect(rows, err, func(r store.Rows) (Notification, error) {
			n := Notification{ContactExternalID: d.ContactExternalID}
			return n, r.Scan(&n.ID, &n.EventID, &n.ContactID, &n.Type, &n.Title, &n.Body, &n.URL, &n.InFeed, &n.CreatedAt)
		})
		if err != nil {
			return err
		}
		if err := deliveriesOf(ctx, sc, d.Notifications); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT id, channel, status, reason, detail, target, updated_at FROM notification_digest_deliveries
			WHERE tenant_id = ? AND digest_id = ? ORDER BY channel`, tenantID, id)
		d.Deliveries, err = store.Collect(rows, err, func(r store.Rows) (Delivery, error) {
			var x Delivery
			return x, r.Scan(&x.ID, &x.Channel, &x.Status, &x.Reason, &x.Detail, &x.Target, &x.UpdatedAt)
		})
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return d, core.NotFound("digest %s not found", quote(id))
	}
	return d, err
}
