package redis

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/state"
)

// TestBeats checks the heartbeat contract against the keys in Redis: a
// beat is alive for its ttl and then gone; take-over succeeds only on a
// lapsed beat, once; a taken-over beat refuses further beats and survives
// EndBeat.
func TestBeats(t *testing.T) {
	s, _ := testStore(t)
	ctx := context.Background()
	status := func(names ...string) []state.BeatStatus {
		t.Helper()
		st, err := s.BeatStatus(ctx, names)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if err := s.Beat(ctx, "a", 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := s.Beat(ctx, "b", time.Minute); err != nil {
		t.Fatal(err)
	}
	if got := status("a", "b", "c"); !slices.Equal(got, []state.BeatStatus{state.BeatAlive, state.BeatAlive, state.BeatNone}) {
		t.Fatalf("status = %v, want alive, alive, none", got)
	}
	if ok, err := s.TakeOver(ctx, "b", time.Minute); err != nil || ok {
		t.Fatalf("TakeOver of a live beat = %v, %v; want false", ok, err)
	}
	// a lapses: Redis expires the key itself.
	waitFor(t, 5*time.Second, "beat a lapses", func() bool { return status("a")[0] == state.BeatNone })
	if n, err := s.Client().Exists(ctx, s.Prefix()+":hb:a").Result(); err != nil || n != 0 {
		t.Fatalf("lapsed key still exists: %d, %v", n, err)
	}
	if ok, err := s.TakeOver(ctx, "a", time.Minute); err != nil || !ok {
		t.Fatalf("TakeOver of a lapsed beat = %v, %v; want true", ok, err)
	}
	if ok, _ := s.TakeOver(ctx, "a", time.Minute); ok {
		t.Fatal("a second TakeOver succeeded")
	}
	if err := s.Beat(ctx, "a", time.Minute); !errors.Is(err, state.ErrTakenOver) {
		t.Fatalf("Beat after take-over = %v, want ErrTakenOver", err)
	}
	if err := s.EndBeat(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.EndBeat(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if got := status("a", "b"); !slices.Equal(got, []state.BeatStatus{state.BeatTakenOver, state.BeatNone}) {
		t.Fatalf("after EndBeat: %v, want taken over, none", got)
	}
	ttl, err := s.Client().PTTL(ctx, s.Prefix()+":hb:a").Result()
	if err != nil || ttl <= 50*time.Second || ttl > time.Minute {
		t.Fatalf("taken-over mark's TTL = %v, %v; want about a minute", ttl, err)
	}
}
