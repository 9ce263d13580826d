package open

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/source"
	"github.com/countydatasync/countysync/internal/state"
	"github.com/countydatasync/countysync/internal/state/memory"
	redisstate "github.com/countydatasync/countysync/internal/state/redis"
	"github.com/countydatasync/countysync/internal/storage"
)

// Jobs says where an Env keeps its job records.
type Jobs int

const (
	// InProcess keeps job records in this process: the embedded runner
	// (`countysync run`) and the commands that run no job.
	InProcess Jobs = iota
	// Shared keeps them in the state store's Redis, where the workers,
	// the producer and the dashboard share them. It needs a redis://
	// state.url.
	Shared
)

// ErrNotShared is returned for Shared job records without a Redis state
// store.
var ErrNotShared = errors.New("distributed mode needs state.url: redis://… in the config (or COUNTYSYNC_REDIS_URL)")

// Options say what Env opens.
type Options struct {
	// Source opens the source database (commands that read no rows leave
	// it closed).
	Source bool
	// Jobs is where the job records live.
	Jobs Jobs
	// Patient waits for the storage, the state store's Redis and the
	// source while they do not answer (refused connections, a MinIO still
	// starting), with backoff from 1 s to 30 s and a log line per wait,
	// until ctx ends; errors that waiting cannot fix (a bad URL, missing
	// credentials, access denied) still return at once. For the
	// long-running commands: worker, scheduler, dashboard.
	Patient bool
}

// Env opens cfg's storage, state store, job records and (if o.Source) its
// source, and returns them as a pipeline.Env with a function that closes
// them all.
func Env(ctx context.Context, cfg *config.Config, log *slog.Logger, o Options) (*pipeline.Env, func(), error) {
	env := &pipeline.Env{Config: cfg, Log: log}
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	fail := func(err error) (*pipeline.Env, func(), error) {
		closeAll()
		return nil, nil, err
	}
	var err error
	if env.Store, err = patiently(ctx, o.Patient, log, "storage", storageRetryable(cfg.Storage.URL),
		func(ctx context.Context) (storage.Store, error) { return Store(ctx, cfg.Storage.URL, log) }); err != nil {
		return fail(err)
	}
	closers = append(closers, func() { env.Store.Close() })
	if env.State, err = patiently(ctx, o.Patient, log, "the state store", networkRetryable,
		func(ctx context.Context) (state.Store, error) { return State(ctx, cfg, env.Store, log) }); err != nil {
		return fail(err)
	}
	closers = append(closers, func() { env.State.Close() })
	if env.Jobs, err = jobsOf(env.State, o.Jobs); err != nil {
		return fail(err)
	}
	if o.Source {
		if env.Source, err = patiently(ctx, o.Patient, log, "the source database", sourceRetryable,
			func(ctx context.Context) (source.Source, error) { return Source(ctx, cfg.Source.URL, log) }); err != nil {
			return fail(err)
		}
		closers = append(closers, func() { env.Source.Close() })
	}
	return env, closeAll, nil
}

func jobsOf(st state.Store, where Jobs) (state.Jobs, error) {
	if where == InProcess {
		return memory.NewJobs(), nil
	}
	rs, ok := st.(*redisstate.Store)
	if !ok {
		return nil, ErrNotShared
	}
	return rs.Jobs(), nil
}

// SharedJobs connects to the job records in the Redis at url under prefix
// (the commands that only read them: status, the dashboard), waiting for
// the Redis while it does not answer if patient.
func SharedJobs(ctx context.Context, url, prefix string, log *slog.Logger, patient bool) (state.Jobs, func(), error) {
	st, err := patiently(ctx, patient, log, "Redis", networkRetryable,
		func(ctx context.Context) (*redisstate.Store, error) { return redisstate.Open(ctx, url, prefix, log) })
	if err != nil {
		return nil, nil, err
	}
	return st.Jobs(), func() { st.Close() }, nil
}

// Ping returns a readiness check of st: a PING of its Redis, or nil for a
// store that is not shared.
func Ping(st state.Store) func(context.Context) error {
	rs, ok := st.(*redisstate.Store)
	if !ok {
		return func(context.Context) error { return nil }
	}
	return func(ctx context.Context) error {
		if err := rs.Client().Ping(ctx).Err(); err != nil {
			return fmt.Errorf("redis: %w", err)
		}
		return nil
	}
}

// Beats returns the heartbeats of st's Redis for a worker's tasks, or nil
// for a store that is not shared.
func Beats(st state.Store) state.Beats {
	rs, ok := st.(*redisstate.Store)
	if !ok {
		return nil
	}
	return rs
}
