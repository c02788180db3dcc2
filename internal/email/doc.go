// Package email is joist's transactional email system: POST /v1/emails
// validates an email whole, stores it with its email_send job in one
// transaction and answers 202; the job sends it through the configured
// Provider (the Outbox by default, which captures and never sends),
// retrying transient failures, and records each step as an event of the
// email and on its contact's timeline. docs/email.md is the user's guide.
package email
