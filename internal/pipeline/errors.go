package pipeline

import "errors"

// ErrPermanent marks failures that running the same step again cannot fix:
// a row a transformation rejects, an unparsable geometry under --strict, a
// duplicate key, a query whose columns changed since the last snapshot.
// Queue workers do not retry them.
var ErrPermanent = errors.New("permanent failure")
