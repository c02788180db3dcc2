package notify

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/httpapi"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

//go:embed openapi_prefs.json
var openapiPrefs []byte

// PrefsPageOpenAPI is the preferences page's fragment of /openapi.json.
func PrefsPageOpenAPI() []byte { return openapiPrefs }

//go:embed public/preferences.html
var prefsPageHTML string

var prefsTmpl = template.Must(template.New("preferences").Parse(prefsPageHTML))

// maxPrefsForm bounds the page's form (a few hundred types).
const maxPrefsForm = 256 << 10

// PrefsPageAPI is the hosted preferences page: public routes (no key),
// reached by the signed link of every notification email's footer.
func (s *Service) PrefsPageAPI() httpapi.System {
	p := &prefsPage{svc: s}
	return httpapi.System{Name: "notify-preferences", OpenAPI: PrefsPageOpenAPI(), Routes: []httpapi.Route{
		{Method: "GET", Pattern: "/p/{token}", Public: true, Handler: p.get},
		{Method: "POST", Pattern: "/p/{token}", Public: true, MaxBodyBytes: maxPrefsForm, Handler: p.post},
	}}
}

type prefsPage struct{ svc *Service }

// channelLabels name the channels on the page.
var channelLabels = map[string]string{ChannelInApp: "In the app", ChannelEmail: "Email", ChannelPush: "Push"}

// pageData is what the template shows.
type pageData struct {
	Title, State, Message string
	Notice, Problem       string
	Who, Proof            string
	HasCritical           bool
	Channels              []pageBox
	Groups                []pageGroup
}

type pageBox struct {
	Key, Label  string // Key: the form field ("" for none)
	On, Present bool
}

type pageGroup struct {
	Label string
	Boxes []pageBox
	Types []pageType
}

type pageType struct {
	Name, Label string
	Critical    bool
	Boxes       []pageBox
}

// prefsState is a contact's page as stored.
type prefsState struct {
	contact store.Contact
	types   []Type
	o       wire.NotificationPreferencesPut
}

func (s *Service) prefsState(ctx context.Context, l PrefsLink) (prefsState, error) {
	var st prefsState
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		sc := tx.Tenant(l.TenantID)
		var err error
		if st.contact, err = sc.ContactGetByID(ctx, l.ContactID); err != nil {
			return err
		}
		if st.o, err = prefsGet(ctx, sc, l.ContactID); err != nil {
			return err
		}
		st.types, err = typeAll(ctx, sc)
		return err
	})
	st.o = normalizePrefs(st.o)
	return st, err
}

// staticTitle is a type's label: its in-app or push title when that is
// plain text (no template action), else its name.
func staticTitle(t Type) string {
	var titles []string
	if c := t.Channels.InApp; c != nil {
		titles = append(titles, c.Title)
	}
	if c := t.Channels.Push; c != nil {
		titles = append(titles, c.Title)
	}
	for _, c := range titles {
		if c = strings.TrimSpace(c); c != "" && !strings.Contains(c, "{{") {
			return c
		}
	}
	return t.Name
}

// build lays out the page of st: the channels some type defines (global
// switches), then the types by group (a group's own switches first),
// each box showing the effective value.
func (st prefsState) build() pageData {
	d := pageData{Title: "Notification preferences", State: "form", Who: st.contact.Name}
	if d.Who == "" {
		d.Who = st.contact.Email
	}
	var chans []string
	for _, ch := range Channels {
		for _, t := range st.types {
			if t.Has(ch) {
				chans = append(chans, ch)
				break
			}
		}
	}
	for _, ch := range chans {
		d.Channels = append(d.Channels, pageBox{Key: "channel." + ch, Label: channelLabels[ch], On: st.o.Channels[ch] || !hasKey(st.o.Channels, ch), Present: true})
	}
	groups := map[string]*pageGroup{}
	var order []string
	for _, t := range st.types {
		g := groups[t.Group]
		if g == nil {
			g = &pageGroup{Label: t.Group}
			if t.Group == "" {
				g.Label = "Other notifications"
			}
			groups[t.Group] = g
			order = append(order, t.Group)
		}
		pt := pageType{Name: t.Name, Label: staticTitle(t), Critical: t.Critical}
		d.HasCritical = d.HasCritical || t.Critical
		for _, ch := range chans {
			b := pageBox{Label: pt.Label + ": " + channelLabels[ch], Present: t.Has(ch)}
			if b.Present {
				b.On, _ = Decide(t, st.o, ch)
				if !t.Critical {
					b.Key = "type." + ch + "." + t.Name
				}
			}
			pt.Boxes = append(pt.Boxes, b)
		}
		g.Types = append(g.Types, pt)
	}
	for _, name := range order {
		g := groups[name]
		for i, ch := range chans {
			b := pageBox{Label: g.Label + ": " + channelLabels[ch]}
			for _, t := range g.Types {
				if name != "" && !t.Critical && t.Boxes[i].Present {
					b.Present, b.Key = true, "group."+ch+"."+name
					v, ok := st.o.Groups[name][ch]
					b.On = !ok || v
				}
			}
			g.Boxes = append(g.Boxes, b)
		}
		if name != "" {
			d.Groups = append(d.Groups, *g)
		}
	}
	if g := groups[""]; g != nil {
		d.Groups = append(d.Groups, *g)
	}
	return d
}

func hasKey(m map[string]bool, k string) bool {
	_, ok := m[k]
	return ok
}

// load resolves the path's token and the contact it names; ok false
// means the 404 page was written (a token joist did not sign, or a
// contact that no longer exists: the two look alike).
func (p *prefsPage) load(w http.ResponseWriter, r *httpapi.Request) (PrefsLink, prefsState, bool, error) {
	l, ok := p.svc.ParsePreferencesToken(r.PathValue("token"))
	if !ok {
		return l, prefsState{}, false, notFoundPage(w)
	}
	st, err := p.svc.prefsState(r.Context(), l)
	if errors.Is(err, store.ErrNotFound) {
		return l, st, false, notFoundPage(w)
	}
	if err != nil {
		return l, st, false, err
	}
	return l, st, true, nil
}

func notFoundPage(w http.ResponseWriter) error {
	return writePrefsPage(w, http.StatusNotFound, pageData{Title: "This link does not work", State: "error",
		Message: "This preferences link is not valid: it may have been cut short or changed. Use the link in the email itself."})
}

func errorPage(w http.ResponseWriter, status int, msg string) error {
	return writePrefsPage(w, status, pageData{Title: "Nothing was saved", State: "error", Message: msg})
}

func (p *prefsPage) get(w http.ResponseWriter, r *httpapi.Request) error {
	_, st, ok, err := p.load(w, r)
	if !ok {
		return err
	}
	d := st.build()
	d.Proof = p.svc.prefsFormProof(r.PathValue("token"), p.svc.now())
	return writePrefsPage(w, http.StatusOK, d)
}

// post saves the form: it must come from this page (a fresh proof for
// this token; Origin or Referer, when sent, naming joist), and is read
// whole before anything is stored.
func (p *prefsPage) post(w http.ResponseWriter, r *httpapi.Request) error {
	tok := r.PathValue("token")
	l, st, ok, err := p.load(w, r)
	if !ok {
		return err
	}
	if !p.sameOrigin(r.Request) {
		return errorPage(w, http.StatusForbidden, "This form was sent from another site. Open the link in your email and save from there.")
	}
	body, err := io.ReadAll(r.Body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errorPage(w, http.StatusRequestEntityTooLarge, "The form is too large.")
	}
	if err != nil {
		return err
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return errorPage(w, http.StatusBadRequest, "The form could not be read: it was not sent by this page.")
	}
	for k, vs := range form {
		for _, v := range append([]string{k}, vs...) {
			if !store.ValidText(v) {
				return errorPage(w, http.StatusBadRequest, "The form holds characters that are not text (a NUL byte or invalid UTF-8).")
			}
		}
	}
	if !p.svc.prefsFormValid(tok, form.Get("proof"), p.svc.now()) {
		return errorPage(w, http.StatusBadRequest, "This page is out of date or was not made by joist. Open the link again and save from the fresh page.")
	}
	f, err := parsePrefsForm(form)
	if err != nil {
		return errorPage(w, http.StatusBadRequest, err.Error())
	}
	o, err := f.apply(st)
	var ce *core.Error
	if errors.As(err, &ce) {
		d := st.build()
		d.Proof = p.svc.prefsFormProof(tok, p.svc.now())
		d.Problem = ce.Message
		return writePrefsPage(w, http.StatusUnprocessableEntity, d)
	}
	if err != nil {
		return err
	}
	a := auth.Actor{Type: auth.ActorSystem, ID: "preferences-page", CorrelationID: r.CorrelationID}
	if _, err := p.svc.setPreferences(r.Context(), a, l.TenantID, l.ContactID, o); err != nil {
		if errors.Is(err, core.ErrNotFound) {
			return notFoundPage(w)
		}
		if errors.As(err, &ce) {
			return errorPage(w, http.StatusBadRequest, ce.Message)
		}
		return err
	}
	st.o = normalizePrefs(o)
	d := st.build()
	d.Proof = p.svc.prefsFormProof(tok, p.svc.now())
	d.Notice = "Your preferences are saved."
	return writePrefsPage(w, http.StatusOK, d)
}

// sameOrigin refuses a form whose Origin (or, without one, Referer) names
// another site than joist's public URL or the request's own host.
// Browsers send Origin on form posts; "null" (a sandboxed or privacy-
// stripped origin) is refused too.
func (p *prefsPage) sameOrigin(r *http.Request) bool {
	src := r.Header.Get("Origin")
	if src == "" {
		src = r.Header.Get("Referer")
	}
	if src == "" {
		return true
	}
	u, err := url.Parse(src)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	pub, err := url.Parse(p.svc.opts.PublicURL)
	return err == nil && pub.Host != "" && strings.EqualFold(u.Host, pub.Host)
}

func writePrefsPage(w http.ResponseWriter, status int, d pageData) error {
	var buf bytes.Buffer
	if err := prefsTmpl.Execute(&buf, d); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// No scripts, no frames, forms only to joist. Referer only to joist
	// itself (the token stays with joist; a form post keeps its Origin).
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}
