package state

import (
	"context"
	"errors"
	"time"
)

// Watermark is the published position of one dataset.
type Watermark struct {
	// Cursor is the highest cursor value published, at full precision.
	// Its Kind is empty for a dataset published without a cursor.
	Cursor Cursor `json:"cursor"`
	// JobID is the job that published it.
	JobID string `json:"job_id"`
	// Snapshot is the storage key of the snapshot the next incremental
	// run merges into.
	Snapshot string `json:"snapshot,omitempty"`
	// Rows is the number of rows in that snapshot.
	Rows int64 `json:"rows"`
	// UpdatedAt is when it was written.
	UpdatedAt time.Time `json:"updated_at"`
}

// Store keeps watermarks and locks.
type Store interface {
	// Get returns the dataset's watermark, or nil if it has none.
	Get(ctx context.Context, dataset string) (*Watermark, error)
	// Set stores w if the current watermark was written by prevJob (""
	// for none); otherwise it fails with ErrConflict and changes nothing.
	Set(ctx context.Context, dataset, prevJob string, w *Watermark) error
	// Reset replaces the dataset's watermark with an empty one, so its
	// next run is full (an empty watermark, unlike a missing one, is not
	// restored from the manifests).
	Reset(ctx context.Context, dataset string) error
	// List returns the datasets that have a watermark.
	List(ctx context.Context) ([]string, error)
	// Lock takes the lock called name for owner, waiting up to wait. It
	// fails with an error wrapping ErrLocked if another owner holds it
	// after that. It is re-entrant: an owner that holds the lock (a job
	// whose earlier step kept it, see Lock.Keep) gets it again at once.
	// Locks have a lease where the store is shared between processes: a
	// held Lock renews it until Release or Keep.
	Lock(ctx context.Context, name, owner string, wait time.Duration) (Lock, error)
	// Unlock ends the lock called name if owner holds it, whichever step
	// took it, and stops the renewal of this store's Lock values of that
	// owner. A lock that is gone is not an error; one that another owner
	// holds is left alone and reported with an error wrapping ErrLocked.
	Unlock(ctx context.Context, name, owner string) error
	// Close releases the store.
	Close() error
}

// Lock is a held lock.
type Lock interface {
	// Release gives the lock up (for every step of its owner). It is
	// safe to call more than once.
	Release(ctx context.Context) error
	// Keep stops this step's use of the lock without giving it up: the
	// owner's next Lock call takes it again at once, and no other owner
	// can take it until Unlock (or, on a store with leases, until the
	// lease runs out unrenewed). It is how one step hands a dataset's
	// lock on to the job's next step.
	Keep()
}

// ErrConflict means the watermark changed since it was read.
var ErrConflict = errors.New("watermark changed by another run")

// ErrLocked means another run holds the lock.
var ErrLocked = errors.New("dataset is locked by another run")

// IsPermanent reports whether err is a state failure that running the
// same step again cannot fix: the watermark was moved by another run.
func IsPermanent(err error) bool { return errors.Is(err, ErrConflict) }

// ResetWatermark returns the empty watermark Reset stores.
func ResetWatermark(now time.Time) *Watermark {
	return &Watermark{JobID: "reset_" + now.UTC().Format("20060102_150405.000000"), UpdatedAt: now.UTC()}
}
