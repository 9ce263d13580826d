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
	// Lock takes the dataset's lock for owner, waiting up to wait. It
	// fails with ErrLocked if another owner holds it after that.
	Lock(ctx context.Context, dataset, owner string, wait time.Duration) (Lock, error)
	// Close releases the store.
	Close() error
}

// Lock is a held dataset lock.
type Lock interface {
	// Release gives the lock up. It is safe to call more than once.
	Release(ctx context.Context) error
}

// ErrConflict means the watermark changed since it was read.
var ErrConflict = errors.New("watermark changed by another run")

// ErrLocked means another run holds the dataset's lock.
var ErrLocked = errors.New("dataset is locked by another run")

// ResetWatermark returns the empty watermark Reset stores.
func ResetWatermark(now time.Time) *Watermark {
	return &Watermark{JobID: "reset_" + now.UTC().Format("20060102_150405.000000"), UpdatedAt: now.UTC()}
}
