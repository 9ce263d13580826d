package source_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/countydatasync/countysync/internal/source"
)

func TestIsPermanent(t *testing.T) {
	if !source.IsPermanent(fmt.Errorf("sqlite source x: %w: no such table: t", source.ErrQuery)) {
		t.Error("an error wrapping ErrQuery is not permanent")
	}
	for _, err := range []error{
		nil,
		errors.New("x"),
		fmt.Errorf("postgres source: connect: %w: refused", source.ErrUnreachable),
		context.Canceled,
		context.DeadlineExceeded,
	} {
		if source.IsPermanent(err) {
			t.Errorf("IsPermanent(%v) = true", err)
		}
	}
}
