package statetest

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/countydatasync/countysync/internal/state"
)

// ErrInjected is the error the fault wrappers return.
var ErrInjected = errors.New("injected fault")

// FlakyJobs wraps job records and fails the next GetJob while FailGet is
// set (then clears it): a Redis read that times out.
type FlakyJobs struct {
	state.Jobs
	FailGet atomic.Bool
}

// GetJob fails once when armed, else reads through.
func (j *FlakyJobs) GetJob(ctx context.Context, id string) ([]byte, error) {
	if j.FailGet.Swap(false) {
		return nil, ErrInjected
	}
	return j.Jobs.GetJob(ctx, id)
}
