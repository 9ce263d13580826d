package statetest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/state"
)

// runLocks is the part of Run that checks the lock contract of
// state.Store: exclusion, re-entry by the owner, the Keep hand-off and
// Unlock.
func runLocks(t *testing.T, open func(t *testing.T) state.Store, o Options) {
	ctx := context.Background()

	// mustLock takes name for owner without waiting.
	mustLock := func(t *testing.T, s state.Store, name, owner string) state.Lock {
		t.Helper()
		l, err := s.Lock(ctx, name, owner, 0)
		if err != nil {
			t.Fatalf("Lock(%q, %q): %v", name, owner, err)
		}
		return l
	}
	// refused checks that owner cannot take name now.
	refused := func(t *testing.T, s state.Store, name, owner string) {
		t.Helper()
		l, err := s.Lock(ctx, name, owner, 0)
		if err == nil {
			_ = l.Release(ctx)
			t.Fatalf("Lock(%q, %q) succeeded; the lock should be held by another owner", name, owner)
		}
		if !errors.Is(err, state.ErrLocked) {
			t.Fatalf("Lock(%q, %q): %v, want an error wrapping ErrLocked", name, owner, err)
		}
	}

	t.Run("LockExcludesAndWaits", func(t *testing.T) {
		s := open(t)
		l1 := mustLock(t, s, "parcels", "job-1")
		start := time.Now()
		_, err := s.Lock(ctx, "parcels", "job-2", 300*time.Millisecond)
		if !errors.Is(err, state.ErrLocked) {
			t.Fatalf("second owner: %v, want ErrLocked", err)
		}
		if waited := time.Since(start); waited < 250*time.Millisecond {
			t.Errorf("second owner gave up after %s, before its wait of 300ms", waited)
		}
		if msg := err.Error(); !strings.Contains(msg, "parcels") || !strings.Contains(msg, "job-1") {
			t.Errorf("ErrLocked error %q does not name the lock and its holder", msg)
		}
		// Another name is independent.
		_ = mustLock(t, s, "roads", "job-2").Release(ctx)

		// A waiter does not get the lock while it is held, and gets it
		// once it is released.
		got := make(chan error, 1)
		go func() {
			l2, err := s.Lock(ctx, "parcels", "job-2", 10*time.Second)
			if err == nil {
				err = l2.Release(ctx)
			}
			got <- err
		}()
		select {
		case err := <-got:
			t.Fatalf("waiter returned while the lock was held: %v", err)
		case <-time.After(150 * time.Millisecond):
		}
		if err := l1.Release(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-got:
			if err != nil {
				t.Fatalf("waiter after release: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("waiter did not get the released lock")
		}
	})

	t.Run("LockIsReentrantPerOwner", func(t *testing.T) {
		s := open(t)
		l1 := mustLock(t, s, "d", "job-1")
		l2 := mustLock(t, s, "d", "job-1") // a second step of the same job
		refused(t, s, "d", "job-2")
		// The lock is the owner's: releasing one step's value ends it.
		if err := l2.Release(ctx); err != nil {
			t.Fatal(err)
		}
		l3 := mustLock(t, s, "d", "job-2")
		// l1 is no longer the holder; its Release leaves job-2's lock alone.
		if err := l1.Release(ctx); !errors.Is(err, state.ErrLocked) {
			t.Fatalf("Release by a former holder: %v, want an error wrapping ErrLocked", err)
		}
		refused(t, s, "d", "job-1")
		if err := l3.Release(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("EmptyOwnerRejected", func(t *testing.T) {
		s := open(t)
		if l, err := s.Lock(ctx, "d", "", 0); err == nil {
			_ = l.Release(ctx)
			t.Fatal("Lock with an empty owner succeeded")
		}
	})

	t.Run("KeepHandsOnToTheOwner", func(t *testing.T) {
		s := open(t)
		extract := mustLock(t, s, "d", "job-1")
		extract.Keep()
		extract.Keep() // safe twice
		refused(t, s, "d", "job-2")
		// The job's next step takes it at once, even with no wait.
		render := mustLock(t, s, "d", "job-1")
		render.Keep()
		refused(t, s, "d", "job-2")
		// The last step, which holds no Lock value, ends it by owner.
		if err := s.Unlock(ctx, "d", "job-1"); err != nil {
			t.Fatalf("Unlock by the owner: %v", err)
		}
		other := mustLock(t, s, "d", "job-2")
		// A kept value's late Release does not free the next owner's lock.
		if err := extract.Release(ctx); !errors.Is(err, state.ErrLocked) {
			t.Fatalf("late Release of a kept lock: %v, want an error wrapping ErrLocked", err)
		}
		refused(t, s, "d", "job-1")
		if err := other.Release(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("UnlockByOwnerFreesIt", func(t *testing.T) {
		s := open(t)
		l := mustLock(t, s, "d", "job-1")
		waiter := make(chan error, 1)
		go func() {
			l2, err := s.Lock(ctx, "d", "job-2", 10*time.Second)
			if err == nil {
				err = l2.Release(ctx)
			}
			waiter <- err
		}()
		if err := s.Unlock(ctx, "d", "job-1"); err != nil {
			t.Fatalf("Unlock: %v", err)
		}
		select {
		case err := <-waiter:
			if err != nil {
				t.Fatalf("waiter after Unlock: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Unlock did not free the lock for another owner")
		}
		// The owner's own value has nothing left to release.
		if err := l.Release(ctx); err != nil {
			t.Fatalf("Release after Unlock: %v", err)
		}
	})

	t.Run("UnlockByNonHolderLeavesIt", func(t *testing.T) {
		s := open(t)
		l := mustLock(t, s, "d", "job-1")
		err := s.Unlock(ctx, "d", "job-2")
		if !errors.Is(err, state.ErrLocked) {
			t.Fatalf("Unlock by another owner: %v, want an error wrapping ErrLocked", err)
		}
		if !strings.Contains(err.Error(), "job-1") {
			t.Errorf("Unlock error %q does not name the holder", err)
		}
		refused(t, s, "d", "job-3")
		_ = mustLock(t, s, "d", "job-1") // still job-1's
		if err := l.Release(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("UnlockOfMissingLockIsNil", func(t *testing.T) {
		s := open(t)
		if err := s.Unlock(ctx, "never-locked", "job-1"); err != nil {
			t.Fatalf("Unlock of a lock never taken: %v", err)
		}
		l := mustLock(t, s, "d", "job-1")
		if err := l.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Unlock(ctx, "d", "job-1"); err != nil {
			t.Fatalf("Unlock of a released lock: %v", err)
		}
		if err := s.Unlock(ctx, "d", "job-1"); err != nil {
			t.Fatalf("second Unlock: %v", err)
		}
	})

	t.Run("ReleaseTwice", func(t *testing.T) {
		s := open(t)
		l := mustLock(t, s, "d", "job-1")
		if err := l.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if err := l.Release(ctx); err != nil {
			t.Fatalf("second Release: %v", err)
		}
		// Once released, the value never touches the lock again, even
		// when its owner or another takes the lock anew.
		again := mustLock(t, s, "d", "job-1")
		if err := l.Release(ctx); err != nil {
			t.Fatalf("third Release: %v", err)
		}
		refused(t, s, "d", "job-2")
		if err := again.Release(ctx); err != nil {
			t.Fatal(err)
		}
		other := mustLock(t, s, "d", "job-2")
		if err := l.Release(ctx); err != nil {
			t.Fatalf("Release of a released value: %v", err)
		}
		refused(t, s, "d", "job-1")
		_ = other.Release(ctx)
	})

	t.Run("NamesAreOpaque", func(t *testing.T) {
		s := open(t)
		names := []string{
			"parcels",
			"parcels:csv",
			"render:etl_20250101_000000:parcels:csv",
			"render:etl_20250101_000000:parcels:json",
			"a/b", "a", "b", "../a", "..", ".", "a\\b", "a b", "a%2Fb", ".parcels",
		}
		held := map[string]state.Lock{}
		for _, n := range names {
			held[n] = mustLock(t, s, n, "job-"+n)
		}
		// Each name is a lock of its own: no two share one.
		for _, n := range names {
			refused(t, s, n, "intruder")
			if err := held[n].Release(ctx); err != nil {
				t.Fatalf("Release %q: %v", n, err)
			}
			_ = mustLock(t, s, n, "intruder").Release(ctx)
		}
	})

	t.Run("WaitHonoursContext", func(t *testing.T) {
		s := open(t)
		l := mustLock(t, s, "d", "job-1")
		defer l.Release(ctx)
		cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := s.Lock(cctx, "d", "job-2", time.Minute)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Lock whose context ends: %v, want DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Lock returned %s after its context ended", d)
		}
	})

	t.Run("MutualExclusion", func(t *testing.T) {
		s := open(t)
		var inside, entries atomic.Int32
		var wg sync.WaitGroup
		const owners, rounds = 4, 2
		for i := range owners {
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner := fmt.Sprintf("job-%d", i)
				for range rounds {
					l, err := s.Lock(ctx, "d", owner, 30*time.Second)
					if err != nil {
						t.Errorf("%s: %v", owner, err)
						return
					}
					if n := inside.Add(1); n != 1 {
						t.Errorf("%d owners inside the lock at once", n)
					}
					entries.Add(1)
					runtime.Gosched()
					inside.Add(-1)
					if err := l.Release(ctx); err != nil {
						t.Errorf("%s: Release: %v", owner, err)
					}
				}
			}()
		}
		wg.Wait()
		if n := entries.Load(); n != owners*rounds {
			t.Fatalf("%d entries, want %d", n, owners*rounds)
		}
	})

	if o.Lease <= 0 {
		return
	}
	lease := o.Lease

	t.Run("HeldLockOutlivesItsLease", func(t *testing.T) {
		s := open(t)
		l := mustLock(t, s, "d", "job-1")
		// Renewal keeps it: a waiter of three leases still gets nothing.
		if _, err := s.Lock(ctx, "d", "job-2", 3*lease); !errors.Is(err, state.ErrLocked) {
			t.Fatalf("held lock expired although renewed: %v", err)
		}
		if err := l.Release(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("KeptLockExpiresAfterItsLease", func(t *testing.T) {
		s := open(t)
		l := mustLock(t, s, "d", "job-1")
		l.Keep()
		start := time.Now()
		next, err := s.Lock(ctx, "d", "job-2", 20*lease)
		if err != nil {
			t.Fatalf("a kept, unrenewed lock did not expire within 20 leases: %v", err)
		}
		// The lease was at most lease/3 old when Keep stopped renewals.
		if waited := time.Since(start); waited < lease/2 {
			t.Errorf("the kept lock was taken after %s, before its lease of %s ran out", waited, lease)
		}
		// The first owner's late Release leaves its successor alone.
		if err := l.Release(ctx); !errors.Is(err, state.ErrLocked) {
			t.Fatalf("late Release: %v, want an error wrapping ErrLocked", err)
		}
		refused(t, s, "d", "job-1")
		if err := next.Release(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ReentryRenewsAKeptLock", func(t *testing.T) {
		s := open(t)
		first := mustLock(t, s, "d", "job-1")
		first.Keep()
		second := mustLock(t, s, "d", "job-1")
		if _, err := s.Lock(ctx, "d", "job-2", 3*lease); !errors.Is(err, state.ErrLocked) {
			t.Fatalf("re-entered lock expired: %v", err)
		}
		if err := second.Release(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
