package pipeline

import "errors"

// ErrPermanent marks failures that running the same step again cannot fix:
// a row a transformation rejects, an unparsable geometry under --strict, a
// duplicate key, a query whose columns changed since the last snapshot.
// Queue workers do not retry them. It never shows in messages: test for
// it with errors.Is.
var ErrPermanent = errors.New("permanent failure")

// permanent marks err as permanent without changing its text.
func permanent(err error) error { return permanentError{err} }

type permanentError struct{ err error }

func (e permanentError) Error() string        { return e.err.Error() }
func (e permanentError) Unwrap() error        { return e.err }
func (e permanentError) Is(target error) bool { return target == ErrPermanent }
