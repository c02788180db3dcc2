package jobs

// ValidatePush checks an HTTP-push job by the rules of POST /v1/jobs without
// enqueueing it (schedules check their job template when it is stored, so a
// bad template is refused at once rather than at its first slot).
func (s *Service) ValidatePush(in PushInput) error {
	_, _, err := s.validate(in)
	return err
}
