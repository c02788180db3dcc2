package notify

import (
	"embed"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/joist-dev/joist/internal/admin"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
)

// The notification pages live under the tenant, since every event and
// type belongs to one:
//
//	GET /admin/tenants/{tenant}/notifications                  the events, newest first: type tabs, 50 a page
//	GET /admin/tenants/{tenant}/notifications/events/{event}   one event: data, counts, skipped recipients, its notifications and their deliveries
//	GET /admin/tenants/{tenant}/notifications/types            the types the tenant resolves, its own and the instance's
//	POST /admin/tenants/{tenant}/notifications/contacts/{contact}/targets/{target}/forget
//	                                                           forget a contact's device or browser (contacts.write)
//
// and a card on the contact page (admin_contact.go) with the contact's
// latest notifications, push targets and preferences. The pages only
// read (role read: viewers see them); the one action, forgetting a push
// target, needs contacts.write. Every call goes through Service or Push
// with the operator as the actor, which checks the role and the tenant
// scope, and audits what changes.

//go:embed adminweb/pages adminweb/partials
var adminFS embed.FS

// Page sizes of the pages.
const (
	adminPage         = 50 // events, notifications of an event, types
	contactNotesMax   = 10 // the contact card's notifications
	adminTypeTabsMost = 20 // more types than this: the type filter is a field alone
)

// notifyPages serves the notification section with the services it was given.
type notifyPages struct {
	a    *admin.Admin
	svc  *Service
	push *Push
}

// AdminSection is the notification part of the dashboard: the tenant's
// events with their fan-out, its types (the instance's page shows the
// instance's types), and the contact page's Notifications card. push
// lists a contact's devices and browsers (nil: the card shows none).
func (s *Service) AdminSection(push *Push) admin.SectionFunc {
	return func(a *admin.Admin) admin.Section {
		p := &notifyPages{a: a, svc: s, push: push}
		return admin.Section{Name: "notify", Templates: admin.Sub(adminFS, "adminweb/pages"), Partials: admin.Sub(adminFS, "adminweb/partials"),
			TenantLinks: []admin.TenantLink{{Label: "Notifications", Path: "/notifications", ID: "tenant-notifications"},
				{Label: "Notification types", Path: "/notifications/types", ID: "tenant-notification-types", Instance: true}},
			Panels: []admin.Panel{{Page: admin.PanelContact, Template: "notify_contact.html", Data: p.contactPanel}},
			Routes: map[string]admin.HandlerFunc{
				"GET /admin/tenants/{tenant}/notifications":                p.events,
				"GET /admin/tenants/{tenant}/notifications/events/{event}": p.event,
				"GET /admin/tenants/{tenant}/notifications/types":          p.types,

				"POST /admin/tenants/{tenant}/notifications/contacts/{contact}/targets/{target}/forget": p.forgetTarget,
			},
			Flashes: map[string]string{"push_target_forgotten": "The device or browser was forgotten: push messages no longer go to it."}}
	}
}

// notifyNav is the tabs between the section's pages.
type notifyNav struct {
	Slug, Active string
}

// tenantPath is the tenant's notification pages' root.
func tenantPath(slug string) string {
	return "/admin/tenants/" + url.PathEscape(slug) + "/notifications"
}

type eventsData struct {
	Tenant store.Tenant
	Type   string      // the type filter
	Tabs   []admin.Tab // "all", then the tenant's types
	Events []Event
	Next   string
	Nav    notifyNav
}

func (p *notifyPages) events(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	t, err := p.a.Tenant(r, op)
	if err != nil {
		return err
	}
	if t.ID == store.InstanceTenantID {
		return core.NotFound("the instance has no events: they are posted for a tenant")
	}
	q := r.URL.Query()
	typ := strings.TrimSpace(q.Get("type"))
	list, next, err := p.svc.EventList(r.Context(), op.Actor, t.ID, store.Page{Limit: adminPage, Cursor: q.Get("cursor"), List: "events"}, typ)
	if err != nil {
		return err
	}
	d := eventsData{Tenant: t, Type: typ, Events: list, Nav: notifyNav{Slug: t.Slug, Active: "events"}}
	listURL := func(typ string, extra ...string) string {
		v := url.Values{}
		if typ != "" {
			v.Set("type", typ)
		}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		if len(v) == 0 {
			return tenantPath(t.Slug)
		}
		return tenantPath(t.Slug) + "?" + v.Encode()
	}
	if next != "" {
		d.Next = listURL(typ, "cursor", next)
	}
	types, more, err := p.svc.TypeList(r.Context(), op.Actor, t.ID, store.Page{Limit: adminTypeTabsMost})
	if err != nil {
		return err
	}
	if more == "" {
		names := make([]string, 0, len(types)+1)
		for _, ty := range types {
			names = append(names, ty.Name)
		}
		if typ != "" && !slices.Contains(names, typ) {
			names = append(names, typ) // a deleted type's events
		}
		d.Tabs = admin.FilterTabs(names, typ, func(v string) string { return listURL(v) })
	}
	return p.a.Render(w, r, op, http.StatusOK, "notify_events.html", d)
}

// deliveryRow is a delivery as the event page shows it.
type deliveryRow struct {
	Delivery
	Slug string // the tenant's, for the email target's link
}

// Badge is the badge class of the delivery's status.
func (d deliveryRow) Badge() string { return deliveryBadge(d.Status) }

// EmailTarget says whether the target is an email of the email log.
func (d deliveryRow) EmailTarget() bool {
	return d.Channel == ChannelEmail && strings.HasPrefix(d.Target, "em_")
}

func deliveryBadge(st string) string {
	switch st {
	case StatusSent, StatusDelivered:
		return "ok"
	case StatusFailed:
		return "revoked"
	}
	return ""
}

// notificationRow is a notification with its deliveries in channel order.
type notificationRow struct {
	Notification
	Deliveries []deliveryRow
}

func notificationRowOf(slug string, n Notification) notificationRow {
	out := notificationRow{Notification: n}
	for _, ch := range Channels {
		for _, d := range n.Deliveries {
			if d.Channel == ch {
				out.Deliveries = append(out.Deliveries, deliveryRow{Delivery: d, Slug: slug})
			}
		}
	}
	return out
}

type eventData struct {
	Tenant        store.Tenant
	Event         EventDetail
	Notifications []notificationRow
	Next          string
	Cursor        string // the page shown is not the first
	Nav           notifyNav
}

// Badge is the badge class of the event's status.
func (d eventData) Badge() string {
	if d.Event.Status == EventDone {
		return "ok"
	}
	return ""
}

func (p *notifyPages) event(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	t, err := p.a.Tenant(r, op)
	if err != nil {
		return err
	}
	id := r.PathValue("event")
	ev, err := p.svc.EventGet(r.Context(), op.Actor, t.ID, id)
	if err != nil {
		return err
	}
	cursor := r.URL.Query().Get("cursor")
	notes, next, err := p.svc.EventNotifications(r.Context(), op.Actor, t.ID, id, store.Page{Limit: adminPage, Cursor: cursor, List: "notifications"})
	if err != nil {
		return err
	}
	d := eventData{Tenant: t, Event: ev, Cursor: cursor, Nav: notifyNav{Slug: t.Slug, Active: "events"}}
	for _, n := range notes {
		d.Notifications = append(d.Notifications, notificationRowOf(t.Slug, n))
	}
	if next != "" {
		d.Next = tenantPath(t.Slug) + "/events/" + url.PathEscape(id) + "?cursor=" + url.QueryEscape(next)
	}
	return p.a.Render(w, r, op, http.StatusOK, "notify_event.html", d)
}

// typeRow is a type as the types page shows it.
type typeRow struct {
	Type
	// Instance says the type is the instance's (the tenant has none of
	// its name).
	Instance bool
}

// ChannelList names the type's channels, in delivery order, each with
// its default ("email (off)" for a channel off unless a contact turns it
// on).
func (t typeRow) ChannelList() []typeChannel {
	var out []typeChannel
	for _, ch := range Channels {
		if t.Has(ch) {
			c := typeChannel{Name: ch, Default: t.Default(ch)}
			switch ch {
			case ChannelInApp:
				c.Content = t.Channels.InApp.Title
			case ChannelEmail:
				c.Content = t.Channels.Email.Template
			case ChannelPush:
				c.Content = t.Channels.Push.Title
			}
			out = append(out, c)
		}
	}
	return out
}

// typeChannel is one channel of a type: its default and what it shows
// (the title template, or the email template's name).
type typeChannel struct {
	Name    string
	Default bool
	Content string
}

type typesData struct {
	Tenant   store.Tenant
	Instance bool // the instance's page
	Types    []typeRow
	Next     string
	Nav      notifyNav
}

func (p *notifyPages) types(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	t, err := p.a.Tenant(r, op)
	if err != nil {
		return err
	}
	list, next, err := p.svc.TypeList(r.Context(), op.Actor, t.ID, store.Page{Limit: adminPage, Cursor: r.URL.Query().Get("cursor"), List: "notification types"})
	if err != nil {
		return err
	}
	d := typesData{Tenant: t, Instance: t.ID == store.InstanceTenantID, Nav: notifyNav{Slug: t.Slug, Active: "types"}}
	for _, ty := range list {
		d.Types = append(d.Types, typeRow{Type: ty, Instance: ty.TenantID == store.InstanceTenantID && !d.Instance})
	}
	if next != "" {
		d.Next = tenantPath(t.Slug) + "/types?cursor=" + url.QueryEscape(next)
	}
	return p.a.Render(w, r, op, http.StatusOK, "notify_types.html", d)
}
