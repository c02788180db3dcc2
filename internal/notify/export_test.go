package notify

import "context"

// FanoutForTest runs an event's fan-out as its job does, chunk recipients
// per transaction, failing after failAfter chunks (0: never) as a crash
// mid-way would.
func (s *Service) FanoutForTest(ctx context.Context, tenantID, eventID string, chunk, failAfter int) error {
	return s.fanout(ctx, tenantID, eventID, chunk, failAfter)
}
