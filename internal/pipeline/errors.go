package pipeline

import (
	"errors"

	"github.com/countydatasync/countysync/internal/source"
	"github.com/countydatasync/countysync/internal/state"
	"github.com/countydatasync/countysync/internal/storage"
)

// ErrPermanent marks failures that running the same step again cannot fix:
// a row a transformation rejects, an unparsable geometry under --strict, a
// duplicate key, a query whose columns changed since the last snapshot, a
// task of a job that has no record. It never shows in messages: test for
// it with errors.Is, or for every permanent failure with IsPermanent.
var ErrPermanent = errors.New("permanent failure")

// ErrUsage marks the errors of Start that come from the options or the
// config (an unknown dataset, formats that cannot apply, a format listed
// twice): no job started and nothing was written. Other errors of Start
// come from the storage or the job records (a full disk, an unreachable or
// full Redis): the command line reports them as an infrastructure failure.
var ErrUsage = errors.New("bad usage")

// usage marks err as a usage error without changing its text.
func usage(err error) error { return usageErr{err} }

type usageErr struct{ err error }

func (e usageErr) Error() string        { return e.err.Error() }
func (e usageErr) Unwrap() error        { return e.err }
func (e usageErr) Is(target error) bool { return target == ErrUsage }

// IsPermanent reports whether err is a failure that running the step again
// cannot fix: the steps' own (ErrPermanent) and those the edges classify
// as permanent (a query the database rejects, storage that denies access
// or has no bucket, a watermark another run moved). Queue workers do not
// retry them.
func IsPermanent(err error) bool {
	return errors.Is(err, ErrPermanent) || source.IsPermanent(err) || storage.IsPermanent(err) || state.IsPermanent(err)
}

// permanent marks err as permanent without changing its text.
func permanent(err error) error { return permanentError{err} }

type permanentError struct{ err error }

func (e permanentError) Error() string        { return e.err.Error() }
func (e permanentError) Unwrap() error        { return e.err }
func (e permanentError) Is(target error) bool { return target == ErrPermanent }
