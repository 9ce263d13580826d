package pipeline_test

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/countydatasync/countysync/internal/record"
	"github.com/countydatasync/countysync/internal/source"
	"github.com/countydatasync/countysync/internal/state"
	"github.com/countydatasync/countysync/internal/storage"
)

// Fault injection around the real edges: each wrapper fails once when
// armed, the way a dropped connection, a full disk or a killed process
// would.

var errInjected = errors.New("injected fault")

// faultySource fails its next query after failAfter rows.
type faultySource struct {
	source.Source
	armed     atomic.Bool
	failAfter int
}

func (s *faultySource) Query(ctx context.Context, q string, f *source.Filter) (source.Rows, error) {
	rows, err := s.Source.Query(ctx, q, f)
	if err != nil || !s.armed.Swap(false) {
		return rows, err
	}
	return &faultyRows{Rows: rows, left: s.failAfter}, nil
}

type faultyRows struct {
	source.Rows
	left int
	err  error
}

func (r *faultyRows) Next() bool {
	if r.left == 0 {
		r.err = errInjected
		return false
	}
	r.left--
	return r.Rows.Next()
}

func (r *faultyRows) Row() record.Row { return r.Rows.Row() }

func (r *faultyRows) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.Rows.Err()
}

// faultyStore fails the failAt-th Put after being armed (a full disk, an
// unreachable bucket).
type faultyStore struct {
	storage.Store
	armed  atomic.Bool
	failAt atomic.Int32
}

func (s *faultyStore) Put(ctx context.Context, key, path string, exclusive bool) error {
	if s.armed.Load() && s.failAt.Add(-1) == 0 {
		s.armed.Store(false)
		return errInjected
	}
	return s.Store.Put(ctx, key, path, exclusive)
}

// faultyState fails the next watermark Set: the process "dies" after the
// files and latest names were published but before the watermark moved.
type faultyState struct {
	state.Store
	armed atomic.Bool
}

func (s *faultyState) Set(ctx context.Context, dataset, prev string, w *state.Watermark) error {
	if s.armed.Swap(false) {
		return errInjected
	}
	return s.Store.Set(ctx, dataset, prev, w)
}
