// Package egress is joist's one way out: the guarded dialer and HTTP
// clients every system uses for outbound requests (HTTP-push jobs, webhook
// forwards, Stripe's API, and the providers to come). It knows no system.
//
// Each request names the class of its destination, which says who chose
// it: Operator (set in configuration: provider base URLs, the SMTP relay),
// App (set through the API with a key the app holds: push jobs, schedules,
// forward URLs) or Customer (supplied by a tenant's own customers:
// web-push endpoints, outbound webhook endpoints, calendar feeds). The
// destination is checked when it is saved (CheckURL) and again at dial
// time on the resolved address of every connection, redirect and attempt,
// so a DNS answer that changes between the check and the connection
// (rebinding) cannot reach an address the class refuses: the dialer
// connects to the very address it checked.
//
//	class     loopback / private             link-local, metadata, 0.0.0.0/8, ::, multicast
//	operator  allowed                        only when named in Policy.Allow
//	app       allowed unless DenyPrivate     only when named
//	customer  only when named; https only    only when named
//
// Policy.Allow (JOIST_EGRESS_ALLOW) names hosts and CIDRs that are allowed
// whatever their class; Policy.AppHosts (JOIST_PUSH_ALLOWED_HOSTS), when
// set, are the only hosts app destinations may name. A refusal is a
// *RefusedError saying what was refused and how an operator allows it.
package egress
