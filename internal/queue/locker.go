package queue

import (
	"context"
	"time"

	redisstate "github.com/countydatasync/countysync/internal/state/redis"
)

// RedisLocker adapts the Redis state store's leased, re-entrant dataset
// locks to Locker.
type RedisLocker struct {
	Store *redisstate.Store
}

// Hold acquires the dataset's lock for owner (re-entrant: a job's later
// tasks acquire the lock its extract task took). release(true) stops
// renewing and leaves the lock to the job's next task (it expires after
// its lease if that never comes); release(false) deletes it.
func (l RedisLocker) Hold(ctx context.Context, dataset, owner string, wait time.Duration) (func(keep bool), error) {
	lk, err := l.Store.Acquire(ctx, dataset, owner, wait)
	if err != nil {
		return nil, err
	}
	return func(keep bool) {
		if keep {
			lk.Stop()
			return
		}
		_ = lk.Release(context.WithoutCancel(ctx))
	}, nil
}

// ReleaseLock deletes the dataset's lock if owner holds it.
func (l RedisLocker) ReleaseLock(ctx context.Context, dataset, owner string) error {
	return l.Store.ReleaseLock(ctx, dataset, owner)
}
