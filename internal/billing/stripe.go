package billing

import (
	"bytes"
	"encoding/json"
	"time"
)

// The parts of Stripe's objects billing reads. Both API shapes are
// accepted: before 2025-03-31 ("basil") the current period lives on the
// subscription, since then on each subscription item; an invoice names its
// subscription in `subscription` (old) or `parent.subscription_details` (basil).

type stripeEvent struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Created    int64  `json:"created"`
	Livemode   bool   `json:"livemode"`
	APIVersion string `json:"api_version"`
	Data       struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

// ref is an expandable field: an id string, or the expanded object.
type ref struct {
	ID       string            `json:"id"`
	Metadata map[string]string `json:"metadata"`
}

func (r *ref) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		return nil
	case b[0] == '"':
		return json.Unmarshal(b, &r.ID)
	}
	type plain ref
	return json.Unmarshal(b, (*plain)(r))
}

type stripePrice struct {
	ID       string `json:"id"`
	Nickname string `json:"nickname"`
	Product  ref    `json:"product"`
}

type stripeSubscription struct {
	ID                string            `json:"id"`
	Customer          ref               `json:"customer"`
	Status            string            `json:"status"`
	CurrentPeriodEnd  *int64            `json:"current_period_end"`
	CancelAtPeriodEnd bool              `json:"cancel_at_period_end"`
	CancelAt          *int64            `json:"cancel_at"`
	CanceledAt        *int64            `json:"canceled_at"`
	TrialEnd          *int64            `json:"trial_end"`
	LatestInvoice     ref               `json:"latest_invoice"`
	Metadata          map[string]string `json:"metadata"`
	Quantity          int               `json:"quantity"`
	Plan              *stripePrice      `json:"plan"`
	Items             struct {
		Data []struct {
			CurrentPeriodEnd *int64      `json:"current_period_end"`
			Quantity         int         `json:"quantity"`
			Price            stripePrice `json:"price"`
		} `json:"data"`
	} `json:"items"`
}

// periodEnd is the subscription's current period end in either shape (the
// latest of the items' since basil).
func (s stripeSubscription) periodEnd() *time.Time {
	if s.CurrentPeriodEnd != nil {
		return unix(s.CurrentPeriodEnd)
	}
	var best *int64
	for _, it := range s.Items.Data {
		if it.CurrentPeriodEnd != nil && (best == nil || *it.CurrentPeriodEnd > *best) {
			best = it.CurrentPeriodEnd
		}
	}
	return unix(best)
}

// plan is the first item's price (the legacy `plan` when there are no items).
func (s stripeSubscription) plan() (stripePrice, int) {
	if len(s.Items.Data) > 0 {
		it := s.Items.Data[0]
		return it.Price, it.Quantity
	}
	if s.Plan != nil {
		return *s.Plan, s.Quantity
	}
	return stripePrice{}, s.Quantity
}

type stripeInvoice struct {
	ID           string            `json:"id"`
	Customer     ref               `json:"customer"`
	Subscription ref               `json:"subscription"`
	Metadata     map[string]string `json:"metadata"`
	Parent       *struct {
		SubscriptionDetails *struct {
			Subscription ref               `json:"subscription"`
			Metadata     map[string]string `json:"metadata"`
		} `json:"subscription_details"`
	} `json:"parent"`
}

// subscription returns the invoice's subscription id and that
// subscription's metadata when the event carries it (basil).
func (in stripeInvoice) subscription() (string, map[string]string) {
	if in.Subscription.ID != "" {
		return in.Subscription.ID, in.Subscription.Metadata
	}
	if in.Parent != nil && in.Parent.SubscriptionDetails != nil {
		d := in.Parent.SubscriptionDetails
		return d.Subscription.ID, d.Metadata
	}
	return "", nil
}

type stripeCheckoutSession struct {
	ID           string            `json:"id"`
	Mode         string            `json:"mode"`
	Customer     ref               `json:"customer"`
	Subscription ref               `json:"subscription"`
	Metadata     map[string]string `json:"metadata"`
}

type stripeCustomer struct {
	ID       string            `json:"id"`
	Metadata map[string]string `json:"metadata"`
}

func unix(v *int64) *time.Time {
	if v == nil || *v == 0 {
		return nil
	}
	t := time.Unix(*v, 0).UTC()
	return &t
}

// firstMeta returns the first non-empty value of key among the maps.
func firstMeta(key string, maps ...map[string]string) string {
	for _, m := range maps {
		if v := m[key]; v != "" {
			return v
		}
	}
	return ""
}
