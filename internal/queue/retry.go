package queue

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"

	"github.com/countydatasync/countysync/internal/state"
)

// retryDelay decides when a failed task runs again: at once (1s) for a task
// whose worker died (its lease expired), a few seconds for a dataset
// locked by another run, and exponential backoff from 2s to about a minute
// (with jitter) for other transient errors such as a database or bucket
// that is briefly unreachable.
func retryDelay(n int, err error, _ *asynq.Task) time.Duration {
	jitter := time.Duration(rand.Int64N(int64(time.Second)))
	switch {
	case errors.Is(err, asynq.ErrLeaseExpired):
		return time.Second
	case errors.Is(err, state.ErrLocked):
		return min(time.Duration(n+1)*5*time.Second, time.Minute) + jitter
	}
	return time.Duration(1<<min(n+1, 6))*time.Second + jitter
}
