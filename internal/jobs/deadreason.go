package jobs

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/joist-dev/joist/internal/store"
)

// maxReason bounds a dead reason (the rest of the error is in the attempts).
const maxReason = 500

// deadReasons is River's error handler: when a job fails its last attempt
// (River then discards it: joist's "dead"), it records why on joist's row,
// for every job kind, before River records the state.
type deadReasons struct {
	db  *store.DB
	log *slog.Logger
}

func (d deadReasons) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	d.lastAttempt(ctx, job, err.Error())
	return nil
}

func (d deadReasons) HandlePanic(ctx context.Context, job *rivertype.JobRow, panicVal any, _ string) *river.ErrorHandlerResult {
	d.lastAttempt(ctx, job, fmt.Sprintf("panic: %v", panicVal))
	return nil
}

// lastAttempt sets the dead reason of a job whose last attempt failed with
// msg: "max_attempts exhausted: <msg>". A reason already set (a 410, an
// event gone) is kept.
func (d deadReasons) lastAttempt(ctx context.Context, job *rivertype.JobRow, msg string) {
	if job.Attempt < job.MaxAttempts {
		return
	}
	reason := DeadReasonExhausted(msg)
	err := d.db.Write(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		return jobSetDeadReasonByRiverID(ctx, tx, job.ID, reason)
	})
	if err != nil {
		d.log.Warn("record a dead job's reason", "river_job_id", job.ID, "err", err)
	}
}

// DeadReasonExhausted is the dead reason of a job whose attempts are
// exhausted, the last one failing with msg.
func DeadReasonExhausted(msg string) string {
	reason := "max_attempts exhausted: " + msg
	if len(reason) > maxReason {
		cut := maxReason
		for cut > 0 && reason[cut]&0xC0 == 0x80 { // not inside a UTF-8 sequence
			cut--
		}
		reason = reason[:cut] + "…"
	}
	return reason
}
