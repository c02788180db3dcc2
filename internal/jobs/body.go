package jobs

import (
	"context"

	"github.com/joist-dev/joist/internal/store"
)

// BodySource is the hook through which a system gives its push jobs their
// body, read at each attempt instead of copied into the job: the webhook
// system's stored events for forwards. It is registered by name in
// Options.Bodies; a job names it (PushInput.BodySource) and asks it for ref
// (PushInput.BodyRef). It reads in sc, a read transaction confined to the
// job's tenant. A *GoneError ends the job dead at once; any other error
// fails the attempt (it is retried).
type BodySource func(ctx context.Context, sc *store.Scope, ref string) ([]byte, error)

// GoneError is a body source's answer when what a job would send is no
// longer stored: the attempt fails with Message and the job ends dead with
// DeadReason.
type GoneError struct {
	DeadReason string
	Message    string
}

func (e *GoneError) Error() string { return e.Message }

// legacyBodySource is the body source that args written before body sources
// name with body_event (the webhook system's stored events). Jobs from that
// source are still written that way, so that a node of the previous version
// (a rolling upgrade) runs them with their body.
const legacyBodySource = "webhook_event"

// setBodyFrom records in a where its body comes from.
func (a *PushArgs) setBodyFrom(source, ref string) {
	switch source {
	case "":
	case legacyBodySource:
		a.BodyEvent = ref
	default:
		a.BodySource, a.BodyRef = source, ref
	}
}

// bodyFrom is the body source the job names and what to ask it for ("" when
// the job carries its body).
func (a PushArgs) bodyFrom() (source, ref string) {
	if a.BodyEvent != "" {
		return legacyBodySource, a.BodyEvent
	}
	return a.BodySource, a.BodyRef
}
