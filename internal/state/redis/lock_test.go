package redis

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/state"
)

func TestLockKeyAndErrorNamesOwner(t *testing.T) {
	ctx := context.Background()
	s, _ := testStore(t)
	l, err := s.Acquire(ctx, "parcels", "etl_20250101_000000", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(ctx)
	key := s.Prefix() + ":lock:parcels"
	if v := s.Client().Get(ctx, key).Val(); v != "etl_20250101_000000" {
		t.Fatalf("%s = %q, want the owner", key, v)
	}
	if ttl := s.Client().PTTL(ctx, key).Val(); ttl <= 0 || ttl > DefaultLease {
		t.Fatalf("lock lease = %s, want (0, %s]", ttl, DefaultLease)
	}
	_, err = s.Lock(ctx, "parcels", "etl_20250101_000001", 0)
	if !errors.Is(err, state.ErrLocked) || !strings.Contains(err.Error(), "etl_20250101_000000") {
		t.Fatalf("second owner: %v; want ErrLocked naming the holder", err)
	}
	if _, err := s.Lock(ctx, "parcels", "", 0); err == nil {
		t.Fatal("empty owner accepted")
	}
}

func TestLockTakenAfterLeaseExpires(t *testing.T) {
	ctx := context.Background()
	s, _ := testStore(t, WithLease(400*time.Millisecond))
	// The holder dies: its lock is no longer renewed but not released.
	dead, err := s.Acquire(ctx, "d", "job-dead", 0)
	if err != nil {
		t.Fatal(err)
	}
	dead.Keep()
	start := time.Now()
	l, err := s.Lock(ctx, "d", "job-next", 3*time.Second)
	if err != nil {
		t.Fatalf("waiter did not get the expired lock: %v", err)
	}
	defer l.Release(ctx)
	if waited := time.Since(start); waited < 250*time.Millisecond {
		t.Errorf("waiter got the lock after %s, before the lease ran out", waited)
	}
	if v := s.Client().Get(ctx, s.lockKey("d")).Val(); v != "job-next" {
		t.Fatalf("lock held by %q", v)
	}
	// The dead holder's late Release does not delete its successor's lock.
	if err := dead.Release(ctx); !errors.Is(err, ErrLockLost) || !errors.Is(err, state.ErrLocked) {
		t.Fatalf("late release: %v, want ErrLockLost and ErrLocked", err)
	}
	if v := s.Client().Get(ctx, s.lockKey("d")).Val(); v != "job-next" {
		t.Fatalf("late release removed the successor's lock (now %q)", v)
	}
}

func TestRenewalKeepsLockPastLease(t *testing.T) {
	ctx := context.Background()
	s, logs := testStore(t, WithLease(300*time.Millisecond))
	l, err := s.Acquire(ctx, "d", "job-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	// A waiter of four leases gets nothing: the renewals keep the lock.
	if _, err := s.Lock(ctx, "d", "job-2", 1200*time.Millisecond); !errors.Is(err, state.ErrLocked) {
		t.Fatalf("lock expired although renewed: %v", err)
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if n := s.Client().Exists(ctx, s.lockKey("d")).Val(); n != 0 {
		t.Fatal("Release left the key")
	}
	l2, err := s.Lock(ctx, "d", "job-2", 0)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	_ = l2.Release(ctx)
	if strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("unexpected warnings:\n%s", logs)
	}
}

func TestLockIsReentrant(t *testing.T) {
	ctx := context.Background()
	s, logs := testStore(t, WithLease(time.Second))
	// The extract task takes the lock and hands it on.
	extract, err := s.Acquire(ctx, "d", "etl_1", 0)
	if err != nil {
		t.Fatal(err)
	}
	extract.Keep()
	// Let the lease run down, then an export task of the same job takes it
	// again without waiting, which refreshes the lease.
	s.Client().PExpire(ctx, s.lockKey("d"), 100*time.Millisecond)
	export1, err := s.Acquire(ctx, "d", "etl_1", 0)
	if err != nil {
		t.Fatalf("re-entrant lock: %v", err)
	}
	if ttl := s.Client().PTTL(ctx, s.lockKey("d")).Val(); ttl < 500*time.Millisecond {
		t.Fatalf("re-entry did not refresh the lease: %s left", ttl)
	}
	export2, err := s.Acquire(ctx, "d", "etl_1", 0)
	if err != nil {
		t.Fatalf("second concurrent task of the job: %v", err)
	}
	// Another job is still excluded.
	if _, err := s.Lock(ctx, "d", "etl_2", 0); !errors.Is(err, state.ErrLocked) {
		t.Fatalf("other job: %v, want ErrLocked", err)
	}
	export1.Keep()
	if n := renewing(s); n != 1 {
		t.Fatalf("%d renewers after Keep of one of two locks, want 1", n)
	}
	// The publish task releases by owner; the renewal of export2 (same
	// process) stops with it rather than reporting a lost lock.
	if err := s.Unlock(ctx, "d", "etl_1"); err != nil {
		t.Fatal(err)
	}
	if n := s.Client().Exists(ctx, s.lockKey("d")).Val(); n != 0 {
		t.Fatal("Unlock left the key")
	}
	if n := renewing(s); n != 0 {
		t.Fatalf("%d renewers still run after Unlock", n)
	}
	if err := export2.Release(ctx); err != nil {
		t.Fatalf("Release after Unlock: %v", err)
	}
	if err := s.Unlock(ctx, "d", "etl_1"); err != nil {
		t.Fatalf("second Unlock: %v", err)
	}
	l, err := s.Lock(ctx, "d", "etl_2", 0)
	if err != nil {
		t.Fatalf("next job: %v", err)
	}
	// Unlock never deletes another owner's lock.
	if err := s.Unlock(ctx, "d", "etl_1"); !errors.Is(err, state.ErrLocked) || !errors.Is(err, ErrLockLost) ||
		!strings.Contains(err.Error(), "etl_2") {
		t.Fatalf("Unlock by a former owner: %v, want ErrLocked and ErrLockLost naming etl_2", err)
	}
	if v := s.Client().Get(ctx, s.lockKey("d")).Val(); v != "etl_2" {
		t.Fatalf("lock now %q", v)
	}
	_ = l.Release(ctx)
	if strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("unexpected warnings:\n%s", logs)
	}
}

func TestLostLockIsDetected(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name, log string
		steal     func(s *Store) error
	}{
		{"taken", "another run took it", func(s *Store) error {
			return s.Client().Set(ctx, s.lockKey("d"), "intruder", time.Minute).Err()
		}},
		{"expired", "expired", func(s *Store) error {
			return s.Client().Del(ctx, s.lockKey("d")).Err()
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, logs := testStore(t, WithLease(300*time.Millisecond))
			l, err := s.Acquire(ctx, "d", "job-1", 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.steal(s); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 2*time.Second, "renewal noticing the lost lock", func() bool {
				return strings.Contains(logs.String(), c.log)
			})
			if out := logs.String(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, "job-1") {
				t.Fatalf("warning vague:\n%s", out)
			}
			// The renewer stopped.
			waitFor(t, 2*time.Second, "renewer ending", func() bool { return renewing(s) == 0 })
			err = l.Release(ctx)
			if c.name == "taken" {
				if !errors.Is(err, ErrLockLost) || !errors.Is(err, state.ErrLocked) || !strings.Contains(err.Error(), "intruder") {
					t.Fatalf("Release of a lost lock: %v", err)
				}
				if v := s.Client().Get(ctx, s.lockKey("d")).Val(); v != "intruder" {
					t.Fatalf("Release deleted the new owner's lock (now %q)", v)
				}
			} else if err != nil {
				t.Fatalf("Release of an expired lock: %v", err)
			}
		})
	}
}

func TestLockWaitHonoursContext(t *testing.T) {
	s, _ := testStore(t)
	ctx := context.Background()
	l, err := s.Acquire(ctx, "d", "job-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(ctx)
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = s.Lock(cctx, "d", "job-2", time.Minute)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock under a cancelled context: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Lock returned %s after its context ended", d)
	}
}

func TestLockSurvivesCallerContext(t *testing.T) {
	s, _ := testStore(t, WithLease(300*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	l, err := s.Acquire(ctx, "d", "job-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := s.Lock(context.Background(), "d", "job-2", 900*time.Millisecond); !errors.Is(err, state.ErrLocked) {
		t.Fatalf("lock not renewed after the acquiring context ended: %v", err)
	}
	if err := l.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestCloseStopsRenewals(t *testing.T) {
	ctx := context.Background()
	s, _ := testStore(t, WithLease(300*time.Millisecond))
	other := NewFromClient(s.Client(), s.Prefix(), WithLease(300*time.Millisecond))
	if _, err := other.Acquire(ctx, "d", "job-1", 0); err != nil {
		t.Fatal(err)
	}
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Lock(ctx, "e", "job-1", 0); err == nil {
		t.Fatal("Lock on a closed store succeeded")
	}
	// Close neither released the lock nor kept renewing it (nor closed
	// the client it was given).
	if _, err := s.Lock(ctx, "d", "job-2", 0); !errors.Is(err, state.ErrLocked) {
		t.Fatalf("Close released the lock: %v", err)
	}
	l, err := s.Lock(ctx, "d", "job-2", 2*time.Second)
	if err != nil {
		t.Fatalf("lock of a closed store was still renewed: %v", err)
	}
	_ = l.Release(ctx)
}
