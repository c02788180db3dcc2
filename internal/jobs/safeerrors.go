package jobs

import (
	"context"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/joist-dev/joist/internal/store"
)

// safeErrors is the worker middleware that makes every job kind's error
// message safe text (store.SafeText) before River records it: an error
// often quotes the outside world (a provider's answer), and River keeps
// errors in jsonb on PostgreSQL, which refuses \u0000, so one NUL byte
// would leave the job unrecordable. Errors that are text pass unchanged.
type safeErrors struct{ river.WorkerMiddlewareDefaults }

func (*safeErrors) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	err := doInner(ctx)
	if err != nil && !store.ValidText(err.Error()) {
		return safeError{err}
	}
	return err
}

// safeError is an error whose message is safe text (store.SafeText).
type safeError struct{ err error }

func (e safeError) Error() string { return store.SafeText(e.err.Error()) }
func (e safeError) Unwrap() error { return e.err }
