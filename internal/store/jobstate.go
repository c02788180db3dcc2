package store

// JobState maps a River state (and joist's dead reason) to the state users
// see. It is the jobs system's rule (jobs.State) and stays here only for
// webhooks.go, whose event list still computes an event's status from its
// forward job with SQL of its own; it goes when the webhook system's SQL
// moves to internal/webhook, which can call jobs.State.
func JobState(riverState, deadReason string) string {
	switch riverState {
	case "scheduled", "pending":
		return "scheduled"
	case "retryable":
		return "retrying"
	case "discarded":
		return "dead"
	case "cancelled":
		if deadReason != "" {
			return "dead"
		}
		return "cancelled"
	}
	return riverState
}
