package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/joist-dev/joist/internal/jobs"
)

// PushArgs is the built-in job sending one push delivery to every web
// push subscription and mobile device of its contact. The content was
// rendered by the fan-out, so a retry sends what the event said then.
type PushArgs struct {
	TenantID   string            `json:"tenant_id"`
	DeliveryID string            `json:"delivery_id"`
	ContactID  string            `json:"contact_id"`
	Title      string            `json:"title"`
	Body       string            `json:"body,omitempty"`
	URL        string            `json:"url,omitempty"`
	Data       map[string]string `json:"data,omitempty"`
}

// Kind names the job.
func (PushArgs) Kind() string { return "notify_push" }

// pushMaxAttempts bounds a push delivery's sends: about an hour of
// backoff, after which a notification is stale anyway.
const pushMaxAttempts = 10

// PushChannel is the push channel of the fan-out: a contact with no
// subscription and no device is skipped (no_subscription); otherwise the
// delivery is queued with its job in the fan-out's transaction (a
// chunk's deliveries share one notify_push_batch job: push_batch.go).
// finish records outcomes (Service.DeliveriesFinish). It registers the
// workers with the job engine, before it starts.
func PushChannel(p *Push, js *jobs.Service, finish func(ctx context.Context, tenantID string, rs []DeliveryResult) error) Channel {
	c := &pushChannel{p: p, jobs: js}
	one := func(ctx context.Context, tenantID, deliveryID, status, detail string) error {
		return finish(ctx, tenantID, []DeliveryResult{{DeliveryID: deliveryID, Status: status, Detail: detail}})
	}
	jobs.AddWorker(js.Engine(), &pushWorker{p: p, finish: one})
	jobs.AddWorker(js.Engine(), &pushBatchWorker{p: p, jobs: js, finish: finish})
	return c
}

type pushChannel struct {
	p    *Push
	jobs *jobs.Service
}

func (c *pushChannel) Name() string { return ChannelPush }

func (c *pushChannel) Plan(ctx context.Context, in PlanInput) (Outcome, error) {
	var (
		n   int
		err error
	)
	if in.Memo != nil && len(in.Chunk) > 0 {
		counts, ok := in.Memo[ChannelPush].(map[string]int)
		if !ok {
			if counts, err = c.p.TargetsMany(ctx, in.Tx, in.TenantID, in.Chunk); err != nil {
				return Outcome{}, err
			}
			in.Memo[ChannelPush] = counts
		}
		n = counts[in.Contact.ID]
	} else {
		if n, err = c.p.Targets(ctx, in.Tx, in.TenantID, in.Contact.ID); err != nil {
			return Outcome{}, err
		}
	}
	if n == 0 {
		return Skipped("no_subscription"), nil
	}
	content := in.Type.Channels.Push
	args := PushArgs{TenantID: in.TenantID, DeliveryID: in.Delivery, ContactID: in.Contact.ID}
	if args.Title, err = in.Render(content.Title); err != nil {
		return Outcome{Status: StatusFailed, Detail: "push title: " + err.Error()}, nil
	}
	if args.Body, err = in.Render(content.Body); err != nil {
		return Outcome{Status: StatusFailed, Detail: "push body: " + err.Error()}, nil
	}
	// A click opens the in-app entry's url, when the type has one.
	if ia := in.Type.Channels.InApp; ia != nil && ia.URL != "" {
		if args.URL, err = in.Render(ia.URL); err != nil {
			return Outcome{Status: StatusFailed, Detail: "in_app url: " + err.Error()}, nil
		}
	}
	if d := in.Digest; d != nil && d.Count > 1 {
		// A digest of several: "3 new: <the push title>", the body listing
		// the first events (the latest event's content rendered above
		// stands for a digest of one).
		args.Title = fmt.Sprintf("%d new: %s", d.Count, args.Title)
		args.Body = digestPushBody(d)
	}
	if flat, ok := in.Memo[pushDataMemo].(map[string]string); ok && in.Digest == nil {
		args.Data = maps.Clone(flat) // the event's data, flattened once per chunk
	} else {
		args.Data = flatData(in.Data)
		if in.Memo != nil && in.Digest == nil {
			in.Memo[pushDataMemo] = maps.Clone(args.Data)
		}
	}
	if in.Digest != nil {
		delete(args.Data, "digest") // the listing is the email's; a push payload is small
		args.Data["digest_id"] = in.Digest.ID
	}
	args.Data["notification_id"] = in.Notification
	args.Data["event_id"] = in.Event.ID
	args.Data["type"] = in.Type.Name
	opts := &river.InsertOpts{MaxAttempts: pushMaxAttempts}
	if in.Enqueue != nil {
		in.Enqueue(river.InsertManyParams{Args: args, InsertOpts: opts})
		return Outcome{Status: StatusQueued}, nil
	}
	if _, err := c.jobs.EnqueueTx(ctx, in.Tx, in.TenantID, args, opts, in.Actor.CorrelationID); err != nil {
		return Outcome{}, err
	}
	return Outcome{Status: StatusQueued}, nil
}

// pushDataMemo keeps, in a fan-out chunk's Memo, the event's data as
// flatData turns it (every notification of the chunk has the same).
const pushDataMemo = ChannelPush + ".data"

// flatData turns the event's data into FCM's string values: strings as
// they are, anything else as its JSON.
func flatData(raw json.RawMessage) map[string]string {
	out := map[string]string{}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return out
	}
	for k, v := range m {
		var s string
		if json.Unmarshal(v, &s) == nil {
			out[k] = s
		} else {
			out[k] = string(v)
		}
	}
	return out
}

type pushWorker struct {
	river.WorkerDefaults[PushArgs]
	p      *Push
	finish func(ctx context.Context, tenantID, deliveryID, status, detail string) error
	// retryAfter carries a service's Retry-After from Work to NextRetry.
	retryAfter sync.Map
}

// NextRetry backs off from 2 s, doubling to at most 10 minutes, with
// ±20% jitter; a push service's Retry-After is the least delay.
func (w *pushWorker) NextRetry(job *river.Job[PushArgs]) time.Time {
	d := 2 * time.Second << min(job.Attempt-1, 10)
	d = min(d, 10*time.Minute)
	d = time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	if v, ok := w.retryAfter.LoadAndDelete(fmt.Sprint(job.ID, ":", job.Attempt)); ok {
		d = max(d, min(v.(time.Duration), time.Hour))
	}
	return time.Now().Add(d)
}

func (w *pushWorker) Work(ctx context.Context, job *river.Job[PushArgs]) error {
	a := job.Args
	out, err := w.p.Deliver(ctx, a.TenantID, a.ContactID, PushMessage{Title: a.Title, Body: a.Body, URL: a.URL, Data: a.Data,
		TTL: 24 * time.Hour})
	var retry *PushRetryError
	var perm *PushPermanentError
	switch {
	case err == nil:
		return w.finish(ctx, a.TenantID, a.DeliveryID, StatusSent, out.Summary())
	case errors.As(err, &perm):
		return w.finish(ctx, a.TenantID, a.DeliveryID, StatusFailed, perm.Reason+": "+perm.Detail)
	case errors.As(err, &retry):
		if job.Attempt >= job.MaxAttempts {
			return w.finish(ctx, a.TenantID, a.DeliveryID, StatusFailed, "out of attempts: "+retry.Error())
		}
		if retry.After > 0 {
			w.retryAfter.Store(fmt.Sprint(job.ID, ":", job.Attempt), retry.After)
		}
		return err
	default:
		if job.Attempt >= job.MaxAttempts {
			return w.finish(ctx, a.TenantID, a.DeliveryID, StatusFailed, "out of attempts: "+err.Error())
		}
		return err
	}
}
