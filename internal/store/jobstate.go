package store

// JobStates and JobState are the jobs system's (jobs.AllStates and
// jobs' userState), copied here only while SQL outside internal/jobs still
// needs them: webhooks.go's event list computes an event's status from its
// forward job. They go when that SQL moves out of the kit.

// JobStates are the states users see, mapped from River's.
var JobStates = []string{"scheduled", "available", "running", "retrying", "completed", "cancelled", "dead"}

// JobState maps a River state (and joist's dead reason) to the user's state.
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
