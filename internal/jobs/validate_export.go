package jobs

import "github.com/riverqueue/river"

// ValidatePush checks an HTTP-push job by the rules of POST /v1/jobs without
// enqueueing it (schedules check their job template when it is stored, so a
// bad template is refused at once rather than at its first slot).
func (s *Service) ValidatePush(in PushInput) error {
	_, _, err := s.validate(in)
	return err
}

// PreparedPush is an HTTP-push job checked by PreparePush, ready to be
// enqueued (CreatePreparedTx, CreateManyTx) without being checked again. It
// is opaque: what was checked cannot be changed afterwards. The zero value
// is not a prepared job.
type PreparedPush struct {
	args     PushArgs
	opts     river.InsertOpts
	schedule string
	ok       bool
}

// PreparePush checks an HTTP-push job like ValidatePush and returns it
// prepared, so that a caller on a hot path checks it outside its
// transaction and the insert does not check it again.
func (s *Service) PreparePush(in PushInput) (PreparedPush, error) {
	args, opts, err := s.validate(in)
	if err != nil {
		return PreparedPush{}, err
	}
	return PreparedPush{args: args, opts: *opts, schedule: in.Schedule, ok: true}, nil
}
