package email

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"net/http"
	"strings"

	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/email/render"
	"github.com/joist-dev/joist/internal/httpapi"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// The system's OpenAPI fragment is one file per part of it
// (openapi.json for sending, openapi_<part>.json for the others), combined
// here into the one fragment the HTTP kit merges.
//
//go:embed openapi*.json
var openapiFiles embed.FS

// OpenAPI is the fragment of /openapi.json that describes this system's
// routes (merged by the HTTP kit).
func OpenAPI() []byte {
	names, err := fs.Glob(openapiFiles, "openapi*.json")
	if err != nil {
		panic(err)
	}
	frags := make([][]byte, 0, len(names))
	for _, n := range names {
		b, err := openapiFiles.ReadFile(n)
		if err != nil {
			panic(err) // embedded: cannot fail
		}
		frags = append(frags, b)
	}
	b, err := httpapi.CombineFragments(frags...)
	if err != nil {
		panic("email: " + err.Error()) // a defect caught by every test that starts joist
	}
	return b
}

// api serves the email system's routes.
type api struct{ svc *Service }

// routeSets are the parts of the email system's API, each in its own file.
var routeSets = []func(*api) []httpapi.Route{(*api).sendRoutes, (*api).templateRoutes, (*api).domainRoutes, (*api).suppressionRoutes,
	(*api).unsubscribeRoutes, (*api).settingsRoutes}

// API is the email system's part of the HTTP API.
func (s *Service) API() httpapi.System {
	a := &api{svc: s}
	var routes []httpapi.Route
	for _, f := range routeSets {
		routes = append(routes, f(a)...)
	}
	return httpapi.System{Name: "email", OpenAPI: OpenAPI(), Routes: routes, Prefixes: []httpapi.Route{a.unsubscribePrefix()}}
}

// sendRoutes are the routes that send and read emails.
func (a *api) sendRoutes() []httpapi.Route {
	s := a.svc
	return []httpapi.Route{
		{Method: "POST", Pattern: "/v1/emails", Tenant: "header", Idempotent: true, IdempotentInTx: true, MaxBodyBytes: s.opts.MaxBodyBytes,
			Handler: a.send},
		{Method: "POST", Pattern: "/v1/emails/batch", Tenant: "header", Idempotent: true, IdempotentInTx: true, MaxBodyBytes: s.opts.MaxBodyBytes,
			Handler: a.batch},
		{Method: "GET", Pattern: "/v1/emails", Tenant: "header", Handler: a.list},
		{Method: "GET", Pattern: "/v1/emails/{email}", Tenant: "header", Handler: a.get},
	}
}

// unprocessable are the codes answered 422: well-formed requests joist
// cannot act on (and the render errors render.Unprocessable names: the
// data does not fit the template).
var unprocessable = map[string]bool{"from_domain_not_allowed": true, "contact_has_no_email": true}

func edge(err error) error {
	var ce *core.Error
	if errors.As(err, &ce) && (unprocessable[ce.Code] || render.Unprocessable(err)) {
		p := httpapi.NewProblem(http.StatusUnprocessableEntity, ce.Code, ce.Message)
		p.Field = ce.Field
		return p
	}
	return err
}

func input(w wire.EmailSend) Input {
	in := Input{To: w.To, Cc: w.Cc, Bcc: w.Bcc, ReplyTo: w.ReplyTo, From: w.From, Contact: w.Contact, Subject: w.Subject,
		HTML: w.HTML, Text: w.Text, Template: w.Template, Data: w.Data, Locale: w.Locale, Headers: w.Headers, Tags: w.Tags, Metadata: w.Metadata, SendAt: w.SendAt, Category: w.Category}
	for _, a := range w.Attachments {
		in.Attachments = append(in.Attachments, AttachmentInput{Filename: a.Filename, Content: a.Content, ContentType: a.ContentType,
			ContentID: a.ContentID})
	}
	return in
}

// View is an email as the API shows it; full adds the bodies and events.
func View(d Detail, full bool) wire.Email {
	e := d.Email
	v := wire.Email{ID: e.ID, Status: e.Status, From: e.From, To: e.To, Cc: e.Cc, Bcc: e.Bcc, ReplyTo: e.ReplyTo, Contact: d.ContactExternalID,
		Subject: e.Subject, Template: e.Template, Locale: e.Locale, Headers: e.Headers, Attachments: []wire.EmailAttachmentInfo{}, Tags: e.Tags, Metadata: e.Metadata,
		Category: e.Category, MessageID: e.MessageID, Provider: e.Provider, ProviderID: e.ProviderID, Error: e.Error, JobID: e.JobID,
		CorrelationID: e.CorrelationID, SendAt: httpapi.UTCPtr(e.SendAt), SentAt: httpapi.UTCPtr(e.SentAt), CreatedAt: e.CreatedAt.UTC(),
		UpdatedAt: e.UpdatedAt.UTC()}
	for _, a := range e.Attachments {
		v.Attachments = append(v.Attachments, wire.EmailAttachmentInfo{Filename: a.Filename, ContentType: a.ContentType,
			ContentID: a.ContentID, Size: len(a.Content)})
	}
	if full {
		v.HTML, v.Text = e.HTML, e.Text
		v.Events = []wire.EmailEvent{}
		for _, ev := range d.Events {
			v.Events = append(v.Events, wire.EmailEvent{Type: ev.Type, Detail: ev.Detail, CreatedAt: ev.CreatedAt.UTC()})
		}
	}
	return v
}

func (a *api) send(w http.ResponseWriter, r *httpapi.Request) error {
	var in wire.EmailSend
	if err := httpapi.Decode(r.Request, &in); err != nil {
		return err
	}
	// The response is encoded, and kept under the Idempotency-Key, inside
	// the transaction that stores the email: one commit for both.
	var body []byte
	idem := r.Idempotency()
	e, err := a.svc.SendWithin(r.Context(), r.Actor, r.Tenant.ID, r.Header.Get("Idempotency-Key"), input(in), Within{
		Before: idem.Claim,
		After: func(ctx context.Context, tx *store.Tx, out []Email) error {
			w.Header().Set("Location", "/v1/emails/"+out[0].ID)
			var err error
			body, err = idem.Complete(ctx, tx, http.StatusAccepted, w.Header(), View(Detail{Email: out[0], ContactExternalID: in.Contact}, false))
			return err
		}})
	if err != nil {
		w.Header().Del("Location")
		return edge(err)
	}
	w.Header().Set("Location", "/v1/emails/"+e.ID)
	return httpapi.WriteJSONBody(w, http.StatusAccepted, body)
}

func (a *api) batch(w http.ResponseWriter, r *httpapi.Request) error {
	var in wire.EmailBatch
	if err := httpapi.Decode(r.Request, &in); err != nil {
		return err
	}
	ins := make([]Input, len(in.Emails))
	for i, e := range in.Emails {
		ins[i] = input(e)
	}
	var body []byte
	idem := r.Idempotency()
	_, err := a.svc.BatchWithin(r.Context(), r.Actor, r.Tenant.ID, r.Header.Get("Idempotency-Key"), ins, Within{
		Before: idem.Claim,
		After: func(ctx context.Context, tx *store.Tx, out []Email) error {
			res := wire.EmailBatchResult{Data: make([]wire.Email, len(out))}
			for i, e := range out {
				res.Data[i] = View(Detail{Email: e, ContactExternalID: in.Emails[i].Contact}, false)
			}
			var err error
			body, err = idem.Complete(ctx, tx, http.StatusAccepted, w.Header(), res)
			return err
		}})
	if err != nil {
		return edge(err)
	}
	return httpapi.WriteJSONBody(w, http.StatusAccepted, body)
}

func (a *api) get(w http.ResponseWriter, r *httpapi.Request) error {
	d, err := a.svc.Get(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("email"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, View(d, true))
}

func (a *api) list(w http.ResponseWriter, r *httpapi.Request) error {
	p, err := httpapi.ParsePage(r.Request)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := ListFilter{Filter: Filter{To: q.Get("to"), Tag: q.Get("tag"), Template: q.Get("template")}, Contact: q.Get("contact")}
	if st := q.Get("status"); st != "" {
		f.Statuses = strings.Split(st, ",")
	}
	if err := httpapi.TimeRange(q.Get, &f.Since, &f.Until); err != nil {
		return err
	}
	items, next, err := a.svc.List(r.Context(), r.Actor, r.Tenant.ID, p, f)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, httpapi.List[wire.Email]{Data: httpapi.MapSlice(items, func(d Detail) wire.Email {
		return View(d, false)
	}), NextCursor: next})
}
