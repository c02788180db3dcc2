package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/joist-dev/joist/internal/store"
)

// orphanGrace is how old a joist job row must be before Maintain may take
// it for an orphan: its River row is inserted in the same transaction, so
// this only keeps a margin for clocks.
const orphanGrace = time.Hour

// Maintain deletes joist's rows of jobs that River has deleted after their
// retention (completed, dead and cancelled jobs), so the jobs table follows
// River's: without it every job ever enqueued would keep its row (and its
// attempts) forever. The app's janitor calls it every few minutes.
func (s *Service) Maintain(ctx context.Context) error {
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		n, err := jobPurgeOrphans(ctx, tx, s.now().Add(-orphanGrace))
		if n > 0 {
			s.log.Debug("purged jobs River no longer keeps", "count", n)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("purge jobs River no longer keeps: %w", err)
	}
	return nil
}
