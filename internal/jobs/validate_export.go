package jobs

// ValidatePush checks an HTTP-push job by the rules of POST /v1/jobs without
// enqueueing it (schedules check their job template when it is stored, so a
// bad template is refused at once rather than at its first slot).
func (s *Service) ValidatePush(in PushInput) error {
	_, _, err := s.validate(in)
	return err
}

// PreparePush checks an HTTP-push job like ValidatePush and returns it with
// the outcome attached, so that inserting it later (CreateTx, CreateManyTx)
// does not check it again: a caller on a hot path checks outside its
// transaction. Changing the returned input's fields afterwards is not
// checked again.
func (s *Service) PreparePush(in PushInput) (PushInput, error) {
	args, opts, err := s.validate(in)
	if err != nil {
		return in, err
	}
	in.checked = &checkedPush{args: args, opts: *opts}
	return in, nil
}
