package redis

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/countydatasync/countysync/internal/state"
)

// ErrLockLost means a lock's lease ran out and another owner took the
// lock while its holder thought it held it. Errors wrapping it also wrap
// state.ErrLocked.
var ErrLockLost = errors.New("lock was lost")

// Poll interval of a waiting Lock: pollMin plus up to pollJitter.
const (
	pollMin    = 100 * time.Millisecond
	pollJitter = 150 * time.Millisecond
)

// acquireScript sets KEYS[1] to ARGV[1] with a lease of ARGV[2] ms if it is
// free or already ARGV[1]'s (refreshing the lease). It returns {1}, or
// {0, owner, pttl} with the current owner.
var acquireScript = goredis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if (not cur) or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {1}
end
return {0, cur, redis.call('PTTL', KEYS[1])}
`)

// renewScript extends the lease of KEYS[1] to ARGV[2] ms if ARGV[1] holds
// it. It returns {1}, {0} if the key is gone, or {0, owner}.
var renewScript = goredis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1}
end
if not cur then return {0} end
return {0, cur}
`)

// releaseScript deletes KEYS[1] if ARGV[1] holds it. It returns {1}, {0}
// if the key is gone, or {0, owner}.
var releaseScript = goredis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return {1}
end
if not cur then return {0} end
return {0, cur}
`)

// scriptResult decodes the {ok, owner, ...} reply of the lock scripts.
func scriptResult(res []any) (ok bool, owner string) {
	if len(res) > 0 {
		n, _ := res[0].(int64)
		ok = n == 1
	}
	if len(res) > 1 {
		owner, _ = res[1].(string)
	}
	return ok, owner
}

// Lock implements state.Store; the lock it returns is a *Lock. See
// Acquire.
func (s *Store) Lock(ctx context.Context, name, owner string, wait time.Duration) (state.Lock, error) {
	l, err := s.Acquire(ctx, name, owner, wait)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// Acquire takes the lock called name (a dataset, or any other name such
// as "render:<job>:<dataset>:<format>") for owner: SET
// "<prefix>:lock:<name>" to owner with the store's lease unless another
// owner holds it, polled every 100–250 ms until wait has passed, after
// which it fails with an error wrapping state.ErrLocked that names the
// holder. It is re-entrant: if owner already holds the lock (a job's tasks
// share the job id as owner), it succeeds at once and refreshes the lease.
//
// The returned Lock renews the lease every lease/3 until Release or Keep
// (or Close of the store). Renewal does not depend on ctx: cancelling ctx
// after Acquire returns does not give the lock up.
func (s *Store) Acquire(ctx context.Context, name, owner string, wait time.Duration) (*Lock, error) {
	if owner == "" {
		return nil, fmt.Errorf("lock %s: empty owner", name)
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("lock %s: the state store is closed", name)
	}
	key := s.lockKey(name)
	leaseMS := s.lease.Milliseconds()
	deadline := time.Now().Add(wait)
	for {
		res, err := acquireScript.Run(ctx, s.c, []string{key}, owner, leaseMS).Slice()
		if err != nil {
			return nil, fmt.Errorf("lock %s in redis: %w", name, err)
		}
		ok, holder := scriptResult(res)
		if ok {
			return s.startLock(ctx, name, owner), nil
		}
		remaining := time.Until(deadline)
		if remaining <= 0 {
			var pttl int64
			if len(res) > 2 {
				pttl, _ = res[2].(int64)
			}
			return nil, fmt.Errorf("lock %s: another run (%s) still holds it after %s (its lease ends in %s): %w",
				name, holder, wait, time.Duration(pttl)*time.Millisecond, state.ErrLocked)
		}
		pause := min(pollMin+rand.N(pollJitter), remaining)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("lock %s: %w", name, ctx.Err())
		case <-t.C:
		}
	}
}

func (s *Store) startLock(ctx context.Context, name, owner string) *Lock {
	l := &Lock{
		s: s, name: name, owner: owner, key: s.lockKey(name),
		ctx:  context.WithoutCancel(ctx),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	s.mu.Lock()
	s.locks[l] = struct{}{}
	s.mu.Unlock()
	go l.renew()
	return l
}

// Unlock implements state.Store: it deletes the lock called name if owner
// holds it, for a task that did not take the Lock value itself (a job's
// publish task), and stops the renewal of every Lock of this store held by
// the same owner. It returns nil if the lock is already gone, and an error
// wrapping state.ErrLocked and ErrLockLost if another owner holds it
// (which it leaves alone).
func (s *Store) Unlock(ctx context.Context, name, owner string) error {
	s.mu.Lock()
	var mine []*Lock
	for l := range s.locks {
		if l.name == name && l.owner == owner {
			mine = append(mine, l)
		}
	}
	s.mu.Unlock()
	for _, l := range mine {
		l.Keep()
	}
	return s.release(ctx, name, owner)
}

func (s *Store) release(ctx context.Context, name, owner string) error {
	res, err := releaseScript.Run(ctx, s.c, []string{s.lockKey(name)}, owner).Slice()
	if err != nil {
		return fmt.Errorf("release lock %s in redis: %w", name, err)
	}
	if ok, holder := scriptResult(res); !ok && holder != "" {
		return fmt.Errorf("release lock %s for %s: it is now held by %s: %w (%w)", name, owner, holder,
			state.ErrLocked, ErrLockLost)
	}
	return nil
}

// Lock is a held lock whose lease a background goroutine renews.
type Lock struct {
	s           *Store
	name, owner string
	key         string
	ctx         context.Context // for renewals: the caller's values, never cancelled

	stopOnce sync.Once
	stop     chan struct{} // closed by Keep
	done     chan struct{} // closed when the renewer returns

	mu       sync.Mutex
	released bool
}

var _ state.Lock = (*Lock)(nil)

// Keep implements state.Lock: it stops renewing the lease without
// deleting the lock, which then expires after its lease unless the same
// owner acquires it again: a task hands the lock on to the job's next task
// this way. It waits for the renewer to finish and is safe to call more
// than once.
func (l *Lock) Keep() {
	l.stopOnce.Do(func() { close(l.stop) })
	<-l.done
}

// Release implements state.Lock: it stops the renewal and deletes the
// lock if its owner still holds it (compare-and-delete). The lock is
// the owner's, not this value's: Release ends it for every task of the
// same owner. Once it has succeeded, further calls do nothing. It fails
// with an error wrapping state.ErrLocked and ErrLockLost if another owner
// holds the lock by now, and leaves that owner's lock alone.
func (l *Lock) Release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return nil
	}
	l.Keep()
	err := l.s.release(ctx, l.name, l.owner)
	if err != nil && !errors.Is(err, ErrLockLost) {
		return err // transient: the caller may retry
	}
	l.released = true
	return err
}

func (l *Lock) markLost(msg string, args ...any) {
	l.s.log.Warn(msg, append([]any{"lock", l.name, "owner", l.owner, "key", l.key}, args...)...)
}

// renew extends the lease every lease/3 until Keep. A renewal that finds
// the key gone or held by another owner logs a warning and ends; failed
// renewals are retried until a whole lease has passed without a successful
// one.
func (l *Lock) renew() {
	defer func() {
		l.s.mu.Lock()
		delete(l.s.locks, l)
		l.s.mu.Unlock()
		close(l.done)
	}()
	lease := l.s.lease
	interval := max(lease/3, time.Millisecond)
	t := time.NewTicker(interval)
	defer t.Stop()
	lastOK := time.Now()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(l.ctx, interval)
		res, err := renewScript.Run(ctx, l.s.c, []string{l.key}, l.owner, lease.Milliseconds()).Slice()
		cancel()
		select {
		case <-l.stop: // stopped while renewing: the answer no longer matters
			return
		default:
		}
		if err != nil {
			if time.Since(lastOK) >= lease {
				l.markLost("lock lost: its lease ran out while renewals failed", "error", err)
				return
			}
			l.s.log.Warn("renewing lock failed; retrying", "lock", l.name, "owner", l.owner, "error", err)
			continue
		}
		ok, holder := scriptResult(res)
		if ok {
			lastOK = time.Now()
			continue
		}
		if holder == "" {
			l.markLost("lock lost: its lease expired before renewal")
		} else {
			l.markLost("lock lost: another run took it", "holder", holder)
		}
		return
	}
}
