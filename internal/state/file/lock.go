package file

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/countydatasync/countysync/internal/safefs"
	"github.com/countydatasync/countysync/internal/state"
)

// pollInterval is how often a Lock waiting for another process's lock
// tries again. A lock held in this process wakes its waiters when it is
// given up.
const pollInterval = 50 * time.Millisecond

// held is the table of the locks this process holds, by lock file path. It
// is shared by every Store of the process: flock(2) locks belong to an open
// file, so two Stores of one directory would otherwise exclude each other
// even for the same owner.
var held = struct {
	mu sync.Mutex
	m  map[string]*heldLock
}{m: map[string]*heldLock{}}

type heldLock struct {
	owner string
	f     *os.File      // open, with the flock held and the owner written in it
	freed chan struct{} // closed when the lock is given up
}

// errBusy means another open file (another process, or this one) holds the
// flock.
var errBusy = errors.New("lock file is held")

// Lock implements state.Store. The lock called name is an exclusive flock(2)
// on "locks/<name>.lock" beside the state file (name escaped so that it
// is one file name), holding the owner's name, and an entry in a table of
// the process's locks. It is re-entrant: the owner holding it gets it
// again at once. Another owner waits up to wait, woken at once when a
// lock of this process is given up and polling every 50 ms for one of
// another process, then fails with an error wrapping state.ErrLocked that
// names the holder. There is no lease: the lock stays until Release or
// Unlock, or until the process ends (the kernel drops its flocks).
func (s *Store) Lock(ctx context.Context, name, owner string, wait time.Duration) (state.Lock, error) {
	if owner == "" {
		return nil, fmt.Errorf("lock %s: empty owner", name)
	}
	path, err := s.lockPath(name)
	if err != nil {
		return nil, err
	}
	if err := safefs.MkdirOwn(s.lockDir); err != nil {
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	deadline := time.Now().Add(wait)
	for {
		ok, freed, holder, err := acquire(path, owner)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", name, err)
		}
		if ok {
			return &fileLock{name: name, path: path, owner: owner}, nil
		}
		remaining := time.Until(deadline)
		if remaining <= 0 {
			return nil, fmt.Errorf("lock %s: another run (%s) still holds it after %s: %w",
				name, holder, wait, state.ErrLocked)
		}
		pause := remaining
		if freed == nil { // held by another process: poll
			pause = min(pollInterval, remaining)
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("lock %s: %w", name, ctx.Err())
		case <-freed:
			t.Stop()
		case <-t.C:
		}
	}
}

// acquire takes the lock file at path for owner if it is free or owner's.
// Otherwise it returns the holder (as well as it is known) and, if the
// holder is in this process, a channel closed when it gives the lock up.
func acquire(path, owner string) (ok bool, freed <-chan struct{}, holder string, err error) {
	held.mu.Lock()
	defer held.mu.Unlock()
	if h := held.m[path]; h != nil {
		if h.owner == owner {
			return true, nil, "", nil
		}
		return false, h.freed, h.owner, nil
	}
	f, err := lockFile(path, false)
	if errors.Is(err, errBusy) {
		return false, nil, readHolder(path) + ", in another process", nil
	}
	if err != nil {
		return false, nil, "", err
	}
	if err := writeOwner(f, owner); err != nil {
		unlockFile(f)
		return false, nil, "", err
	}
	held.m[path] = &heldLock{owner: owner, f: f, freed: make(chan struct{})}
	return true, nil, "", nil
}

// Unlock implements state.Store: it gives up the lock called name if owner
// holds it in this process. It returns nil if nobody holds it, and an error
// wrapping state.ErrLocked if another owner does (or another process,
// whose lock this one cannot end).
func (s *Store) Unlock(ctx context.Context, name, owner string) error {
	path, err := s.lockPath(name)
	if err != nil {
		return err
	}
	return drop(name, path, owner)
}

// drop gives up the lock file at path if owner holds it in this process.
func drop(name, path, owner string) error {
	held.mu.Lock()
	defer held.mu.Unlock()
	h := held.m[path]
	if h == nil {
		// Not held here: see whether another process holds it, without
		// creating the file of a lock nobody ever took.
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		f, err := lockFile(path, false)
		if errors.Is(err, errBusy) {
			return fmt.Errorf("unlock %s for %s: another process holds it (%s): %w", name, owner, readHolder(path), state.ErrLocked)
		}
		if err != nil {
			return fmt.Errorf("unlock %s: %w", name, err)
		}
		unlockFile(f)
		return nil
	}
	if h.owner != owner {
		return fmt.Errorf("unlock %s for %s: it is held by %s: %w", name, owner, h.owner, state.ErrLocked)
	}
	delete(held.m, path)
	_ = h.f.Truncate(0) // the owner's name, read by other processes
	unlockFile(h.f)
	close(h.freed)
	return nil
}

// fileLock is a state.Lock of a Store.
type fileLock struct {
	name, path, owner string

	mu       sync.Mutex
	released bool
}

// Release implements state.Lock: it gives the lock up if its owner still
// holds it. Once it has succeeded, further calls do nothing. It fails with
// an error wrapping state.ErrLocked if another owner holds the lock by
// now, and leaves that owner's lock alone.
func (l *fileLock) Release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return nil
	}
	err := drop(l.name, l.path, l.owner)
	if err != nil && !errors.Is(err, state.ErrLocked) {
		return err
	}
	l.released = true
	return err
}

// Keep implements state.Lock. The lock stays in the process's table, held
// for its owner, whose next Lock call takes it again at once; there is no
// lease to stop renewing, so this does nothing.
func (l *fileLock) Keep() {}

// lockPath returns the lock file of the lock called name.
func (s *Store) lockPath(name string) (string, error) {
	if name == "" {
		return "", errors.New("lock: empty name")
	}
	return filepath.Join(s.lockDir, lockFileName(name)), nil
}

// maxNameLen bounds the escaped name in a lock file name, well under the
// usual 255-byte limit of a file name.
const maxNameLen = 200

// lockFileName maps a lock name one-to-one to a file name with no path
// separator that does not start with a dot: bytes other than ASCII
// letters, digits, '_', '-', ':' and '.' (after the first byte) are
// escaped as %XX. A name that escapes to more than maxNameLen bytes keeps
// a prefix followed by '~' (which escaped names never contain) and a hash
// of the whole name.
func lockFileName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '_', c == '-', c == ':', c == '.' && i > 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	esc := b.String()
	if len(esc) > maxNameLen {
		sum := sha256.Sum256([]byte(name))
		esc = esc[:maxNameLen-33] + "~" + hex.EncodeToString(sum[:16])
	}
	return esc + ".lock"
}

// lockFile opens path (creating it) and takes an exclusive flock on it,
// blocking when block is true; otherwise it fails with errBusy if the lock
// is held.
func lockFile(path string, block bool) (*os.File, error) {
	// Never through a link someone planted at the lock's name: the owner
	// is written into the file.
	f, err := safefs.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock file: %w", err)
	}
	how := syscall.LOCK_EX
	if !block {
		how |= syscall.LOCK_NB
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errBusy
		}
		return nil, fmt.Errorf("lock file %s: %w", path, err)
	}
	return f, nil
}

// unlockFile drops the flock of f and closes it.
func unlockFile(f *os.File) {
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	f.Close()
}

// writeOwner replaces the content of the lock file f with owner's name.
func writeOwner(f *os.File, owner string) error {
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("lock file: %w", err)
	}
	if _, err := f.WriteAt([]byte(owner+"\n"), 0); err != nil {
		return fmt.Errorf("lock file: %w", err)
	}
	return nil
}

// readHolder returns the owner written in the lock file at path, or
// "holder unknown".
func readHolder(path string) string {
	b, _ := safefs.ReadFile(path)
	if s := strings.TrimSpace(string(b)); s != "" {
		return s
	}
	return "holder unknown"
}
