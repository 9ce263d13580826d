package storage

import (
	"context"
	"errors"
	"io"
	"time"
)

// Store is a place artifacts are published to.
type Store interface {
	// WorkDir returns a local directory for temporary files that Put can
	// publish cheaply (for a local store, a folder on the same file
	// system, so Put is a rename). It is this store value's own, removed
	// by Close; a process killed before Close leaves it to the next
	// store opened there, which removes it (see internal/workdir).
	WorkDir() string
	// Put publishes the local file at path under key, atomically, and
	// removes or consumes the local file. It fails with ErrExists if key
	// already exists and exclusive is true.
	Put(ctx context.Context, key, path string, exclusive bool) error
	// PutBytes publishes data under key, atomically, replacing any
	// previous object.
	PutBytes(ctx context.Context, key string, data []byte) error
	// Link points the stable name latest at the published object target
	// (a relative symlink locally, a server-side copy on S3).
	Link(ctx context.Context, latest, target string) error
	// LinkTarget returns the key the latest name points at: the target
	// of the last Link. It fails with ErrNotFound if there is no such
	// latest name, and with ErrUnknownTarget if the name exists but the
	// store cannot tell what it points at (a latest name written by an
	// older version on S3).
	LinkTarget(ctx context.Context, latest string) (string, error)
	// Open reads the object under key. It fails with ErrNotFound if there
	// is none.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// List returns the keys that start with prefix, sorted.
	List(ctx context.Context, prefix string) ([]string, error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// Location returns how users find key: a file path or an s3:// URL.
	Location(key string) string
	// Close releases the store.
	Close() error
}

// SHA256Putter is implemented by stores that can have the server check an
// upload against a SHA-256 computed before it, so that bytes changed on
// the way (or on the local disk since they were hashed) are refused on
// arrival instead of published. PutSHA256 is Put, not exclusive, with
// sum the hex SHA-256 of the file at path. A refused upload is an error
// worth retrying (render the file again); it is not permanent.
type SHA256Putter interface {
	PutSHA256(ctx context.Context, key, path, sum string) error
}

// PutSHA256 publishes the file at path under key (not exclusively), with
// its hex SHA-256 sum checked on arrival when store is a SHA256Putter and
// sum is not empty; otherwise it is Put.
func PutSHA256(ctx context.Context, store Store, key, path, sum string) error {
	if p, ok := store.(SHA256Putter); ok && sum != "" {
		return p.PutSHA256(ctx, key, path, sum)
	}
	return store.Put(ctx, key, path, false)
}

// Leftover is an object a store keeps for itself that List does not show
// and an interrupted writer can leave behind: a temporary file, a claim
// of an exclusive put, an unfinished multipart upload.
type Leftover struct {
	// Key names it (for messages; a store may put its own marks in it).
	Key string
	// Kind is "temporary file", "claim" or "unfinished upload".
	Kind string
	// Modified is when it was last written.
	Modified time.Time
	// ID is what the store needs to remove it, beside Key.
	ID string
}

// Sweeper is implemented by stores that can list and remove their own
// leftovers (`countysync gc`).
type Sweeper interface {
	// Leftovers returns the leftovers last written before before.
	Leftovers(ctx context.Context, before time.Time) ([]Leftover, error)
	// RemoveLeftover removes one; removing one that is gone is not an
	// error.
	RemoveLeftover(ctx context.Context, l Leftover) error
}

// ErrNotFound is returned by Open for a missing key. It is not permanent:
// the key may appear later, and callers decide what a missing key means.
var ErrNotFound = errors.New("object not found")

// ErrUnknownTarget is returned by LinkTarget when the latest name exists
// but does not say which key it was linked to.
var ErrUnknownTarget = errors.New("latest name does not record its target")

// ErrExists is returned by an exclusive Put when the key is taken.
var ErrExists = errors.New("object already exists")

// ErrPermanent marks errors that retrying the same operation cannot fix:
// access denied, bad credentials, a missing or invalid bucket, an invalid
// key or URL, missing configuration. Each Store translates its own
// failures at its edge; callers test with IsPermanent and do not retry.
var ErrPermanent = errors.New("permanent storage error")

// IsPermanent reports whether err wraps ErrPermanent, that is, whether
// retrying the operation that returned it is pointless. It is false for
// nil, ErrNotFound, ErrExists, context errors and network failures.
func IsPermanent(err error) bool { return errors.Is(err, ErrPermanent) }

// Permanent returns err marked as permanent: its message is err's and it
// wraps both err and ErrPermanent. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

type permanentError struct{ err error }

func (e permanentError) Error() string   { return e.err.Error() }
func (e permanentError) Unwrap() []error { return []error{e.err, ErrPermanent} }
