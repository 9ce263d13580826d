package s3

import (
	"errors"

	"github.com/minio/minio-go/v7"

	"github.com/countydatasync/countysync/internal/redact"
	"github.com/countydatasync/countysync/internal/storage"
)

// permanentCodes are S3 error codes that no retry fixes.
var permanentCodes = map[string]bool{
	"AccessDenied":            true,
	"AllAccessDisabled":       true,
	"InvalidAccessKeyId":      true,
	"SignatureDoesNotMatch":   true,
	"NoSuchBucket":            true,
	"InvalidBucketName":       true,
	"InvalidObjectName":       true,
	"AccountProblem":          true,
	"InvalidArgument":         true,
	"XMinioInvalidObjectName": true,
}

// IsPermanent reports whether err, from this package, is one a retry
// cannot fix: access denied, bad credentials, a missing or invalid
// bucket, an invalid key or URL, or missing credentials. Queue handlers
// use it to skip retries. storage.ErrExists and storage.ErrNotFound are
// not permanent by this test; callers decide what they mean.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	var p *permanentError
	if errors.As(err, &p) {
		return true
	}
	return permanentCodes[code(err)]
}

// permanentError marks errors of configuration or input.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return &permanentError{err} }

// code returns the S3 error code in err's chain, or "" if the server
// said nothing (network errors, local errors, nil).
func code(err error) string {
	var r minio.ErrorResponse
	if errors.As(err, &r) {
		if r.Code == "" && r.StatusCode == 412 {
			return "PreconditionFailed"
		}
		return r.Code
	}
	return ""
}

// opError is an error of one store operation. Its message never contains
// the secret key; it unwraps to storage.ErrNotFound for a missing key and
// always to the underlying error.
type opError struct {
	op     string
	kind   error
	err    error
	secret string
}

func (e *opError) Error() string {
	msg := e.op + ": " + e.err.Error()
	if e.kind != nil {
		msg = e.op + ": " + e.kind.Error() + " (" + e.err.Error() + ")"
	}
	return redact.Text(msg, e.secret)
}

func (e *opError) Unwrap() []error {
	if e.kind != nil {
		return []error{e.kind, e.err}
	}
	return []error{e.err}
}

// wrap translates err, from operation op, at the package edge.
func (s *Store) wrap(op string, err error) error {
	e := &opError{op: op, err: err, secret: s.secret}
	switch code(err) {
	case "NoSuchKey", "NotFound":
		e.kind = storage.ErrNotFound
	case "PreconditionFailed":
		e.kind = storage.ErrExists
	}
	return e
}
