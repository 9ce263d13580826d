package statetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/state"
)

// Options describes the store under test.
type Options struct {
	// Lease is the lock lease of the stores open returns, zero for a
	// store without leases. When set, Run also checks that a held lock is
	// renewed past its lease and that a kept one expires after it. Keep it
	// short (a few hundred milliseconds): the checks wait several leases.
	Lease time.Duration
}

// Run runs the conformance suite of state.Store against stores made by
// open; each call must return an empty, isolated store.
func Run(t *testing.T, open func(t *testing.T) state.Store, o Options) {
	ctx := context.Background()
	wm := func(job, value string) *state.Watermark {
		return &state.Watermark{Cursor: state.Cursor{Kind: "timestamptz", Value: value}, JobID: job,
			Snapshot: "snap/" + job, Rows: 3, UpdatedAt: time.Unix(1700000000, 0).UTC()}
	}
	t.Run("GetSetCompareAndSet", func(t *testing.T) {
		s := open(t)
		got, err := s.Get(ctx, "parcels")
		if err != nil || got != nil {
			t.Fatalf("empty Get = %v, %v", got, err)
		}
		w1 := wm("etl_1", "2025-04-11T14:30:42.123456789Z")
		if err := s.Set(ctx, "parcels", "", w1); err != nil {
			t.Fatal(err)
		}
		got, err = s.Get(ctx, "parcels")
		if err != nil || got == nil || got.Cursor != w1.Cursor || got.JobID != "etl_1" || got.Snapshot != w1.Snapshot {
			t.Fatalf("Get = %+v, %v; want %+v", got, err, w1)
		}
		// A run that started from no watermark may not overwrite etl_1's.
		if err := s.Set(ctx, "parcels", "", wm("etl_2", "2026-01-01T00:00:00Z")); !errors.Is(err, state.ErrConflict) {
			t.Fatalf("stale Set: %v, want ErrConflict", err)
		}
		if err := s.Set(ctx, "parcels", "etl_1", wm("etl_3", "2026-01-01T00:00:00Z")); err != nil {
			t.Fatal(err)
		}
		got, _ = s.Get(ctx, "parcels")
		if got.JobID != "etl_3" {
			t.Fatalf("after CAS: %+v", got)
		}
		names, err := s.List(ctx)
		if err != nil || len(names) != 1 || names[0] != "parcels" {
			t.Fatalf("List = %v, %v", names, err)
		}
	})
	t.Run("ResetLeavesEmptyWatermark", func(t *testing.T) {
		s := open(t)
		if err := s.Set(ctx, "d", "", wm("etl_1", "2025-01-01T00:00:00Z")); err != nil {
			t.Fatal(err)
		}
		if err := s.Reset(ctx, "d"); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, "d")
		if err != nil || got == nil || !got.Cursor.IsZero() || got.Snapshot != "" {
			t.Fatalf("after reset: %+v, %v", got, err)
		}
		if err := s.Set(ctx, "d", got.JobID, wm("etl_2", "2025-01-02T00:00:00Z")); err != nil {
			t.Fatalf("Set after reset: %v", err)
		}
	})
	t.Run("ConcurrentSetsOneWins", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.Set(ctx, "race", "", wm("etl_"+string(rune('a'+i)), "2025-01-01T00:00:00Z")); err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d compare-and-sets from the same state succeeded, want 1", wins)
		}
	})
	runLocks(t, open, o)
}
