package s3

import (
	"errors"

	"github.com/minio/minio-go/v7"

	"github.com/countydatasync/countysync/internal/redact"
	"github.com/countydatasync/countysync/internal/storage"
)

// permanentCodes are S3 error codes that no retry fixes: the request is
// refused for who sent it (credentials, permissions, account), where it
// went (bucket) or what it asked for (object name, argument, size).
var permanentCodes = map[string]bool{
	"AccessDenied":                 true,
	"AllAccessDisabled":            true,
	"AccountProblem":               true,
	"InvalidAccessKeyId":           true,
	"SignatureDoesNotMatch":        true,
	"InvalidToken":                 true,
	"AuthorizationHeaderMalformed": true,
	"NoSuchBucket":                 true,
	"InvalidBucketName":            true,
	"InvalidObjectName":            true,
	"XMinioInvalidObjectName":      true,
	"KeyTooLongError":              true,
	"EntityTooLarge":               true,
	"InvalidArgument":              true,
}

// isPermanent reports whether err, as the server or minio-go reported it,
// is one a retry cannot fix. wrap uses it to mark errors with
// storage.ErrPermanent at the package edge; callers use
// storage.IsPermanent.
func isPermanent(err error) bool { return permanentCodes[code(err)] }

// permanent marks an error of configuration or input (a bad URL, missing
// credentials, an invalid key) as storage.ErrPermanent.
func permanent(err error) error { return storage.Permanent(err) }

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
// the secret key; it unwraps to storage.ErrNotFound for a missing key,
// storage.ErrExists for a lost conditional write, storage.ErrPermanent for
// the codes in permanentCodes, and always to the underlying error.
type opError struct {
	op        string
	kind      error
	err       error
	secret    string
	permanent bool
}

func (e *opError) Error() string {
	msg := e.op + ": " + e.err.Error()
	if e.kind != nil {
		msg = e.op + ": " + e.kind.Error() + " (" + e.err.Error() + ")"
	}
	return redact.Text(msg, e.secret)
}

func (e *opError) Unwrap() []error {
	var errs []error
	if e.kind != nil {
		errs = append(errs, e.kind)
	}
	errs = append(errs, e.err)
	if e.permanent {
		errs = append(errs, storage.ErrPermanent)
	}
	return errs
}

// wrap translates err, from operation op, at the package edge.
func (s *Store) wrap(op string, err error) error {
	e := &opError{op: op, err: err, secret: s.secret, permanent: isPermanent(err)}
	switch code(err) {
	case "NoSuchKey", "NotFound":
		e.kind = storage.ErrNotFound
	case "PreconditionFailed":
		e.kind = storage.ErrExists
	}
	return e
}
