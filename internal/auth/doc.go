// Package auth holds joist's credentials and permissions: API key generation
// and hashing, operator passwords (argon2id), random tokens, roles and what
// each may do, and the Actor that every audited action names.
package auth
