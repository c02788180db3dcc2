// Package webhooktest is for tests that need inbound webhooks over real
// HTTP against a whole joist (apptest): a GitHub source with a known
// secret, signed deliveries, the stored events they become, and a
// receiver for the forwards. The webhook system's admin tests use it, and
// billing's, whose pages show a source's events beside a customer's
// subscription.
package webhooktest
