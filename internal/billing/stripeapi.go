package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/joist-dev/joist/internal/store"
)

// errNoSuchSubscription is Stripe's 404 for a subscription: the worker
// then keeps the event-based behaviour.
var errNoSuchSubscription = errors.New("stripe: no such subscription")

// refetchable reports whether the configured API key can read objects of
// the event's mode: a test-mode key (sk_test_, rk_test_) sees test-mode
// objects only, any other key live ones.
func (s *Service) refetchable(livemode bool) bool {
	if s.opts.StripeAPIKey == "" {
		return false
	}
	k := s.opts.StripeAPIKey
	test := strings.HasPrefix(k, "sk_test_") || strings.HasPrefix(k, "rk_test_")
	return livemode != test
}

// fetchSubscription GETs {base}/v1/subscriptions/{id} (customer expanded,
// so its metadata maps the contact). A 404 is errNoSuchSubscription; any
// other failure (network, timeout, 429, 5xx, a rejected key) is an error
// that makes the job retry.
func (s *Service) fetchSubscription(ctx context.Context, id string) (stripeSubscription, error) {
	var sub stripeSubscription
	u := strings.TrimRight(s.opts.StripeAPIBase, "/") + "/v1/subscriptions/" + url.PathEscape(id) + "?" + url.Values{"expand[]": {"customer"}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return sub, err
	}
	req.Header.Set("Authorization", "Bearer "+s.opts.StripeAPIKey)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "joist")
	resp, err := s.http.Do(req)
	if err != nil {
		return sub, fmt.Errorf("stripe API: GET subscription %s: %w", id, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return sub, fmt.Errorf("stripe API: GET subscription %s: %w", id, err)
	}
	if resp.StatusCode == http.StatusNotFound {
		return sub, errNoSuchSubscription
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct {
				Type    string `json:"type"`
				Message string `json:"message"`
			} `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		return sub, fmt.Errorf("stripe API: GET subscription %s: HTTP %d %s %s", id, resp.StatusCode, e.Error.Type, e.Error.Message)
	}
	body, _ = store.SafeJSON(body) // the provider's text, made storable
	if err := json.Unmarshal(body, &sub); err != nil || sub.ID == "" {
		return sub, fmt.Errorf("stripe API: GET subscription %s: not a subscription object", id)
	}
	return sub, nil
}

// subscriptionOf names the subscription an event that changes billing
// state is about, for a refetch: customer.subscription.*, invoice.paid and
// invoice.payment_failed with a subscription, checkout.session.completed
// naming one; "" otherwise.
func subscriptionOf(ev stripeEvent) string {
	obj := ev.Data.Object
	switch ev.Type {
	case "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted",
		"customer.subscription.trial_will_end", "customer.subscription.paused", "customer.subscription.resumed":
		var sub stripeSubscription
		if json.Unmarshal(obj, &sub) == nil {
			return sub.ID
		}
	case "invoice.paid", "invoice.payment_failed":
		var inv stripeInvoice
		if json.Unmarshal(obj, &inv) == nil {
			id, _ := inv.subscription()
			return id
		}
	case "checkout.session.completed":
		var cs stripeCheckoutSession
		if json.Unmarshal(obj, &cs) == nil {
			return cs.Subscription.ID
		}
	}
	return ""
}
