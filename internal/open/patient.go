package open

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/source"
	"github.com/countydatasync/countysync/internal/storage"
)

// Backoff of a patient open: the first retry after backoffMin, doubling up
// to backoffMax.
const (
	backoffMin = time.Second
	backoffMax = 30 * time.Second
)

// patiently calls open until it succeeds, it fails with an error that
// waiting cannot fix (retryable is false), or ctx ends (SIGTERM): a
// long-running process (worker, scheduler, dashboard) that starts before
// its Redis, object store or database answers waits for them, logging what
// it waits for, instead of exiting into a crash loop. Without patience it
// calls open once.
func patiently[T any](ctx context.Context, patient bool, log *slog.Logger, what string, retryable func(error) bool, open func(context.Context) (T, error)) (T, error) {
	delay := backoffMin
	for {
		v, err := open(ctx)
		if err == nil || !patient || !retryable(err) {
			return v, err
		}
		log.Warn("waiting for "+what+" to answer", "error", err, "retry_in", delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return v, fmt.Errorf("gave up waiting for %s: %w (last error: %w)", what, ctx.Err(), err)
		case <-t.C:
		}
		delay = min(delay*2, backoffMax)
	}
}

// sourceRetryable: the database could not be reached (or refused the
// connection).
func sourceRetryable(err error) bool { return errors.Is(err, source.ErrUnreachable) }

// storageRetryable: a remote store that answered nothing or an error that
// is not permanent (such as MinIO's "Server not initialized yet").
func storageRetryable(url string) func(error) bool {
	return func(err error) bool {
		return strings.HasPrefix(url, "s3://") && !storage.IsPermanent(err)
	}
}

// networkRetryable: a connection that failed or broke, or a Redis still
// loading its data set.
func networkRetryable(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "LOADING")
}

// Ready returns the readiness check of a long-running process on env: its
// Redis answers PING, its storage lists, and its source (if open) runs
// SELECT 1. The first that does not answer is the error.
func Ready(env *pipeline.Env) func(context.Context) error {
	ping := Ping(env.State)
	return func(ctx context.Context) error {
		if err := ping(ctx); err != nil {
			return err
		}
		if env.Store != nil {
			if _, err := env.Store.List(ctx, ".countysync/readyz"); err != nil {
				return fmt.Errorf("storage: %w", err)
			}
		}
		if env.Source != nil {
			rows, err := env.Source.Query(ctx, "SELECT 1", nil)
			if err != nil {
				return fmt.Errorf("source: %w", err)
			}
			for rows.Next() {
			}
			err = rows.Err()
			rows.Close()
			if err != nil {
				return fmt.Errorf("source: %w", err)
			}
		}
		return nil
	}
}
