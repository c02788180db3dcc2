package notify

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/wire"
)

// prefsForm is the preferences page's form as posted: which boxes the
// page showed (the hidden "shown" fields) and which of them are ticked
// (a checkbox left unticked is not sent at all, hence "shown").
type prefsForm struct {
	channels map[string]bool    // channel -> ticked
	groups   map[[2]string]bool // (group, channel) -> ticked
	types    map[[2]string]bool // (type, channel) -> ticked
	order    [][2]string        // types in a stable order
}

// parsePrefsForm reads the form's fields: proof, shown (the box keys the
// page showed) and the ticked boxes ("on"). A key is "channel.CH",
// "group.CH.NAME" or "type.CH.NAME"; anything else, an unknown channel,
// an invalid name or a ticked box the page did not show is refused
// whole, naming the field. Its errors are sentences for the person on
// the page (shown as they are), not for Go callers.
func parsePrefsForm(form url.Values) (prefsForm, error) {
	f := prefsForm{channels: map[string]bool{}, groups: map[[2]string]bool{}, types: map[[2]string]bool{}}
	shown := map[string]bool{}
	for _, k := range form["shown"] {
		kind, ch, name, err := parseBoxKey(k)
		if err != nil {
			return f, err
		}
		shown[k] = true
		on := form.Get(k) == "on"
		switch kind {
		case "channel":
			f.channels[ch] = on
		case "group":
			f.groups[[2]string{name, ch}] = on
		case "type":
			key := [2]string{name, ch}
			if _, dup := f.types[key]; !dup {
				f.order = append(f.order, key)
			}
			f.types[key] = on
		}
	}
	for _, k := range sortedKeys(form) {
		switch {
		case k == "proof" || k == "shown":
		case !shown[k]:
			return f, fmt.Errorf("The form has a field this page did not show (%s).", quote(clip(k)))
		default:
			for _, v := range form[k] {
				if v != "on" {
					return f, fmt.Errorf("The form's field %s is not a checkbox's value.", quote(clip(k)))
				}
			}
		}
	}
	sort.Slice(f.order, func(i, j int) bool {
		return f.order[i][0]+"\x00"+f.order[i][1] < f.order[j][0]+"\x00"+f.order[j][1]
	})
	return f, nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

func parseBoxKey(k string) (kind, ch, name string, err error) {
	parts := strings.SplitN(k, ".", 3)
	kind = parts[0]
	bad := func(why string) error { return fmt.Errorf("The form's field %s %s.", quote(clip(k)), why) }
	switch {
	case kind == "channel" && len(parts) == 2:
		ch = parts[1]
	case (kind == "group" || kind == "type") && len(parts) == 3:
		ch, name = parts[1], parts[2]
		if checkTypeName("name", name) != nil {
			return "", "", "", bad("does not name a notification type or group")
		}
	default:
		return "", "", "", bad("is not one of this page's")
	}
	if !isChannel(ch) {
		return "", "", "", bad("names no channel (in_app, email, push)")
	}
	return kind, ch, name, nil
}

// apply turns the form into the contact's new overrides, starting from
// st's (so overrides the page does not show are kept) and changing only
// what the person changed, box by box, against the page as st shows it:
//
//   - a global switch sets the channel's switch; a channel switched off
//     is off for every type (critical ones aside): the type and group
//     overrides turning it on are dropped and its type boxes not read.
//     Switched on again, each type is as it was before;
//   - a group's box unticked turns the channel off for the group (the
//     "on" overrides of its types' channel are dropped); ticked again,
//     the group's "off" is removed;
//   - a type's box changed states the value wanted: it is stored as an
//     override only where it differs from what the group, the switches
//     and the type's default give;
//   - a critical type's box is never on the page: a form muting one is
//     refused (type_is_critical) and nothing is stored. A type the
//     tenant has since deleted is ignored.
func (f prefsForm) apply(st prefsState) (wire.NotificationPreferencesPut, error) {
	byName := map[string]Type{}
	for _, t := range st.types {
		byName[t.Name] = t
	}
	for _, k := range f.order {
		if t, ok := byName[k[0]]; ok && t.Critical && !f.types[k] {
			return wire.NotificationPreferencesPut{}, &core.Error{Kind: core.ErrInvalid, Code: "type_is_critical", Field: "type." + k[1] + "." + k[0],
				Message: quote(staticTitle(t)) + " is a security or account message and can't be turned off. Nothing was saved."}
		}
	}
	o := clonePrefs(st.o)
	dropOn := func(m map[string]map[string]bool, ch string, keep func(name string) bool) {
		for name := range m {
			if m[name][ch] && keep(name) {
				delete(m[name], ch)
			}
		}
	}
	all := func(string) bool { return true }
	for _, ch := range sortedKeys(f.channels) {
		o.Channels[ch] = f.channels[ch]
		if !f.channels[ch] {
			dropOn(o.Groups, ch, all)
			dropOn(o.Types, ch, all)
		}
	}
	for k, on := range f.groups {
		name, ch := k[0], k[1]
		v, set := st.o.Groups[name][ch]
		if on == (!set || v) {
			continue // as shown
		}
		if on {
			delete(o.Groups[name], ch)
			continue
		}
		setPref(o.Groups, name, ch, false)
		dropOn(o.Types, ch, func(n string) bool { return byName[n].Group == name })
	}
	for _, k := range f.order {
		t, ok := byName[k[0]]
		ch := k[1]
		if !ok || t.Critical || !t.Has(ch) {
			continue
		}
		if v, ok := o.Channels[ch]; ok && !v {
			continue
		}
		if shown, _ := Decide(t, st.o, ch); shown == f.types[k] {
			continue
		}
		delete(o.Types[t.Name], ch)
		if base, _ := Decide(t, o, ch); base != f.types[k] {
			setPref(o.Types, t.Name, ch, f.types[k])
		}
	}
	for _, m := range []map[string]map[string]bool{o.Groups, o.Types} {
		for name, v := range m {
			if len(v) == 0 {
				delete(m, name)
			}
		}
	}
	return o, nil
}

func setPref(m map[string]map[string]bool, name, ch string, v bool) {
	if m[name] == nil {
		m[name] = map[string]bool{}
	}
	m[name][ch] = v
}

func clonePrefs(in wire.NotificationPreferencesPut) wire.NotificationPreferencesPut {
	o := normalizePrefs(wire.NotificationPreferencesPut{})
	for k, v := range in.Channels {
		o.Channels[k] = v
	}
	for _, pair := range []struct{ from, to map[string]map[string]bool }{{in.Groups, o.Groups}, {in.Types, o.Types}} {
		for name, m := range pair.from {
			pair.to[name] = map[string]bool{}
			for k, v := range m {
				pair.to[name][k] = v
			}
		}
	}
	return o
}
