package storage_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/countydatasync/countysync/internal/storage"
)

func TestPermanent(t *testing.T) {
	for _, err := range []error{nil, errors.New("x"), context.Canceled, context.DeadlineExceeded, storage.ErrNotFound, storage.ErrExists} {
		if storage.IsPermanent(err) {
			t.Errorf("IsPermanent(%v) = true", err)
		}
	}
	if storage.Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
	cause := errors.New("access denied to bucket b")
	err := fmt.Errorf("put k: %w", storage.Permanent(cause))
	if !storage.IsPermanent(err) || !errors.Is(err, cause) {
		t.Errorf("%v: permanent %v, wraps cause %v", err, storage.IsPermanent(err), errors.Is(err, cause))
	}
	if got, want := err.Error(), "put k: access denied to bucket b"; got != want {
		t.Errorf("message %q, want %q (Permanent keeps the message)", got, want)
	}
	if !storage.IsPermanent(storage.ErrPermanent) {
		t.Error("ErrPermanent itself is not permanent")
	}
}
