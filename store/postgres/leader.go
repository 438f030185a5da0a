package postgres

import (
	"context"
	"database/sql/driver"
	"time"
)

// leaderLock is the session advisory lock the Berth that runs the
// controllers holds, keyed like the migration lock by the schema, so
// Berths on other schemas of the database elect their own leader.
const (
	leaderTry    = `SELECT pg_try_advisory_lock(hashtext('berth.leader'), hashtext(current_schema()))`
	leaderUnlock = `SELECT pg_advisory_unlock(hashtext('berth.leader'), hashtext(current_schema()))`
)

// leaderPoll is how often a Berth waiting to lead tries the lock, and how
// often the leader checks that its session (and so the lock) is alive.
const leaderPoll = time.Second

// Lead blocks until this process holds the leader lock, or ctx ends. The
// lock lives in a database session of its own: PostgreSQL releases it
// when that session ends (the process exits or dies, or its connection
// breaks). lost is closed when the session is found broken; release gives
// the lock up. waiting, when not nil, is called once if the lock is held
// by another Berth.
func (s *Store) Lead(ctx context.Context, waiting func()) (lost <-chan struct{}, release func(), err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, nil, dialect.MapErr(err)
	}
	for told := false; ; {
		var got bool
		if err := conn.QueryRowContext(ctx, leaderTry).Scan(&got); err != nil {
			conn.Close()
			return nil, nil, err
		}
		if got {
			break
		}
		if !told && waiting != nil {
			waiting()
			told = true
		}
		select {
		case <-ctx.Done():
			conn.Close()
			return nil, nil, ctx.Err()
		case <-time.After(leaderPoll):
		}
	}
	lostc := make(chan struct{})
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(leaderPoll)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			pctx, cancel := context.WithTimeout(context.Background(), 5*leaderPoll)
			err := conn.PingContext(pctx)
			cancel()
			if err != nil {
				close(lostc)
				return
			}
		}
	}()
	release = func() {
		close(stop)
		<-done
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = conn.ExecContext(ctx, leaderUnlock)
		// Drop the session rather than pool it: ending the session releases
		// the lock even when the unlock failed.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		conn.Close()
	}
	return lostc, release, nil
}
