package notify

import (
	"context"
	"errors"
	"sort"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// Reasons of an effective preference.
const (
	PrefCritical    = "critical"     // a critical type: always on, opt-outs ignored
	PrefTypeOn      = "type_on"      // the contact's override of the type
	PrefTypeOff     = "type_off"     // the contact's override of the type
	PrefGroupOn     = "group_on"     // the contact's override of the type's group
	PrefGroupOff    = "group_off"    // the contact's override of the type's group
	PrefChannelOff  = "channel_off"  // the contact's global switch of the channel
	PrefTypeDefault = "type_default" // the type's default
)

// Decide is the preference model, a pure function: whether channel ch of
// type t reaches a contact with overrides o, and why. A critical type is
// always on (its opt-outs are ignored, visibly: reason critical). Else
// the first that says something decides: the contact's override of the
// type, of the type's group, the contact's global switch of the channel
// (only off decides: a switch left on lets the type's default stand),
// and last the type's default.
func Decide(t Type, o wire.NotificationPreferencesPut, ch string) (bool, string) {
	if t.Critical {
		return true, PrefCritical
	}
	if v, ok := o.Types[t.Name][ch]; ok {
		return v, pick(v, PrefTypeOn, PrefTypeOff)
	}
	if t.Group != "" {
		if v, ok := o.Groups[t.Group][ch]; ok {
			return v, pick(v, PrefGroupOn, PrefGroupOff)
		}
	}
	if v, ok := o.Channels[ch]; ok && !v {
		return false, PrefChannelOff
	}
	return t.Default(ch), PrefTypeDefault
}

func pick(v bool, on, off string) string {
	if v {
		return on
	}
	return off
}

// checkPrefs validates overrides: known channels, valid names, and no
// per-type override muting a critical type (422 type_is_critical).
func checkPrefs(in wire.NotificationPreferencesPut, types map[string]Type) error {
	checkChannels := func(field string, m map[string]bool) error {
		for ch := range m {
			if !isChannel(ch) {
				return invalidf(field+"."+ch, "unknown_channel", "%q is not a channel (in_app, email, push)", ch)
			}
		}
		return nil
	}
	if err := checkChannels("channels", in.Channels); err != nil {
		return err
	}
	for g, m := range in.Groups {
		if err := checkTypeName("groups."+g, g); err != nil {
			return err
		}
		if err := checkChannels("groups."+g, m); err != nil {
			return err
		}
	}
	for _, name := range sortedKeys(in.Types) {
		m := in.Types[name]
		if err := checkTypeName("types."+name, name); err != nil {
			return err
		}
		if err := checkChannels("types."+name, m); err != nil {
			return err
		}
		if t, ok := types[name]; ok && t.Critical {
			for _, ch := range sortedKeys(m) {
				if !m[ch] {
					return &core.Error{Kind: core.ErrInvalid, Code: "type_is_critical", Field: "types." + name + "." + ch,
						Message: "types." + name + "." + ch + ": " + quote(name) + " is a critical type and cannot be muted"}
				}
			}
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// effective is the effective value of each type x channel the types define.
func effective(types []Type, o wire.NotificationPreferencesPut) []wire.NotificationPreference {
	out := []wire.NotificationPreference{}
	for _, t := range types {
		for _, ch := range Channels {
			if !t.Has(ch) {
				continue
			}
			on, why := Decide(t, o, ch)
			out = append(out, wire.NotificationPreference{Type: t.Name, Group: t.Group, Critical: t.Critical, Channel: ch, Enabled: on, Reason: why})
		}
	}
	return out
}

func normalizePrefs(o wire.NotificationPreferencesPut) wire.NotificationPreferencesPut {
	if o.Channels == nil {
		o.Channels = map[string]bool{}
	}
	if o.Groups == nil {
		o.Groups = map[string]map[string]bool{}
	}
	if o.Types == nil {
		o.Types = map[string]map[string]bool{}
	}
	return o
}

// Preferences answers the overrides of the contact with joist id
// contactID (ct_...) and the effective value of each type x channel.
// Callers check access (the API's by key, the feed's by contact token).
func (s *Service) Preferences(ctx context.Context, tenantID, contactID string) (wire.NotificationPreferences, error) {
	var out wire.NotificationPreferences
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		sc := tx.Tenant(tenantID)
		if _, err := sc.ContactGetByID(ctx, contactID); err != nil {
			return err
		}
		o, err := prefsGet(ctx, sc, contactID)
		if err != nil {
			return err
		}
		types, err := typeAll(ctx, sc)
		if err != nil {
			return err
		}
		out = wire.NotificationPreferences{Overrides: normalizePrefs(o), Effective: effective(types, o)}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return out, core.NotFound("contact not found")
	}
	return out, err
}

// SetPreferences validates and replaces the overrides of the contact with
// joist id contactID and answers them as Preferences does. It writes the
// change to the contact's timeline (and audits it for operators).
func (s *Service) SetPreferences(ctx context.Context, tenantID, contactID string, in wire.NotificationPreferencesPut) (wire.NotificationPreferences, error) {
	return s.setPreferences(ctx, auth.Actor{Type: auth.ActorSystem, ID: "system"}, tenantID, contactID, in)
}

func (s *Service) setPreferences(ctx context.Context, a auth.Actor, tenantID, contactID string, in wire.NotificationPreferencesPut) (wire.NotificationPreferences, error) {
	var out wire.NotificationPreferences
	in = normalizePrefs(in)
	now := s.now()
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		sc := tx.Tenant(tenantID)
		c, err := sc.ContactGetByID(ctx, contactID)
		if err != nil {
			return err
		}
		types, err := typeAll(ctx, sc)
		if err != nil {
			return err
		}
		byName := map[string]Type{}
		for _, t := range types {
			byName[t.Name] = t
		}
		if err := checkPrefs(in, byName); err != nil {
			return err
		}
		if err := prefsPut(ctx, sc, contactID, in, now); err != nil {
			return err
		}
		if err := sc.TimelineAdd(ctx, store.TimelineEntry{ContactID: contactID, Kind: "notification.preferences", Summary: "Notification preferences changed",
			RefType: "contact", RefID: contactID, CorrelationID: a.CorrelationID, CreatedAt: now}); err != nil {
			return err
		}
		if a.Type != auth.ActorSystem {
			if err := s.core.Audit(ctx, tx, a, tenantID, "notification_preferences.update", "contact", c.ExternalID,
				map[string]any{"channels": len(in.Channels), "groups": len(in.Groups), "types": len(in.Types)}); err != nil {
				return err
			}
		}
		out = wire.NotificationPreferences{Overrides: in, Effective: effective(types, in)}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return out, core.NotFound("contact not found")
	}
	return out, err
}

// contactPreferences resolves a contact by external id for the API.
func (s *Service) contactID(ctx context.Context, a auth.Actor, tenantID, externalID string, p auth.Permission) (string, error) {
	if err := s.core.TenantAccess(a, tenantID, p); err != nil {
		return "", err
	}
	var id string
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		c, err := tx.Tenant(tenantID).ContactGet(ctx, externalID)
		id = c.ID
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return "", core.NotFound("contact %s not found", quote(externalID))
	}
	return id, err
}
