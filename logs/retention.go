package logs

import (
	"context"
	"time"

	"github.com/berth-dev/berth/store"
)

// RetentionInterval is how often RunRetention deletes expired events.
const RetentionInterval = time.Minute

// retentionBatch is how many events one retention transaction deletes, so
// that writers are never held up for long.
const retentionBatch = 5000

// RunRetention deletes the events that have outlived their group's
// retention period every interval until ctx ends.
func (s *Service) RunRetention(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.EnforceRetention(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("logs retention", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// EnforceRetention deletes, now, every event older than its group's
// retention period and returns how many it deleted.
func (s *Service) EnforceRetention(ctx context.Context) (int, error) {
	var groups []store.LogGroup
	if err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		groups, err = tx.LogGroupsWithRetention()
		return err
	}); err != nil {
		return 0, err
	}
	total := 0
	now := s.now()
	for _, g := range groups {
		cutoff := ms(now.Add(-time.Duration(g.RetentionDays) * 24 * time.Hour))
		for {
			var n int
			err := s.st.Update(ctx, func(tx store.Tx) error {
				var err error
				n, err = tx.DeleteLogEventsBefore(g.ID, cutoff, retentionBatch)
				return err
			})
			if err != nil {
				return total, err
			}
			total += n
			if n < retentionBatch {
				break
			}
		}
	}
	if total > 0 {
		s.log.Info("logs retention deleted expired events", "events", total)
	}
	return total, nil
}
