// Package notify is joist's notification system: POST /v1/events stores
// an event with its fan-out job; the job creates one notification per
// recipient (the contact's in-app feed entry) and one delivery per channel
// the type and the contact's preferences allow (in_app, email through the
// email system, push), recording why a channel was skipped. The feed,
// its real-time stream and the push channels build on these records.
// docs/notifications.md is the user's guide.
package notify
