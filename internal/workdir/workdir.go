package workdir

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/countydatasync/countysync/internal/safefs"
)

// StaleAfter is how long an entry without a lock file must have been left
// unchanged before a sweep removes it.
const StaleAfter = 24 * time.Hour

// lockName is the name of the lock file in a work folder.
const lockName = "lock"

// Dir is a work folder held by this process.
type Dir struct {
	path string
	lock *os.File
}

// Path returns the folder.
func (d *Dir) Path() string { return d.path }

// Close removes the folder and gives its lock up. It is safe to call more
// than once.
func (d *Dir) Close() error {
	if d == nil || d.lock == nil {
		return nil
	}
	err := os.RemoveAll(d.path)
	d.lock.Close() // the flock goes with the last descriptor
	d.lock = nil
	if err != nil {
		return fmt.Errorf("remove work folder: %w", err)
	}
	return nil
}

// Acquire removes the stale entries of parent (see Sweep), then makes a
// new work folder "<parent>/<prefix><pid>-<random>" and locks it for
// this process until Close. parent must exist.
func Acquire(parent, prefix string, all bool) (*Dir, []string, error) {
	removed, _ := Sweep(parent, prefix, all, time.Now())
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, removed, err
	}
	dir := filepath.Join(parent, prefix+strconv.Itoa(os.Getpid())+"-"+hex.EncodeToString(b[:]))
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, removed, fmt.Errorf("work folder: %w", err)
	}
	// The lock is taken under another name and renamed into place, so a
	// sweep never sees a "lock" file nobody holds yet.
	tmp := filepath.Join(dir, lockName+"~")
	f, err := safefs.Create(tmp)
	if err == nil {
		err = flock(f)
		if err == nil {
			fmt.Fprintf(f, "%d\n", os.Getpid())
			err = os.Rename(tmp, filepath.Join(dir, lockName))
		}
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, removed, fmt.Errorf("work folder %s: lock: %w", dir, err)
	}
	return &Dir{path: dir, lock: f}, removed, nil
}

// Sweep removes, from parent, the work folders named prefix… whose lock
// can be taken (their process is gone), and the entries without a lock
// file that nothing changed in for StaleAfter before now: folders named
// prefix…, or, when all is true, any entry (parent then belongs to
// countysync alone). It returns the paths it removed; it skips what it
// cannot inspect or remove, and returns the first such error.
func Sweep(parent, prefix string, all bool, now time.Time) ([]string, error) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return nil, err
	}
	var removed []string
	var first error
	note := func(err error) {
		if first == nil {
			first = err
		}
	}
	for _, e := range entries {
		p := filepath.Join(parent, e.Name())
		ours := strings.HasPrefix(e.Name(), prefix)
		if !ours && !all {
			continue
		}
		fi, err := os.Lstat(p)
		if err != nil || !owned(fi) {
			continue
		}
		if fi.IsDir() && ours {
			switch live, err := Live(p); {
			case errors.Is(err, fs.ErrNotExist):
				// No lock file: an older version's folder, or one
				// whose process died while making it.
			case err != nil:
				note(err)
				continue
			case live:
				continue
			default:
				if err := removeDead(p); err != nil {
					note(err)
					continue
				}
				removed = append(removed, p)
				continue
			}
		}
		if fi.Mode()&fs.ModeSymlink != 0 && !all {
			continue
		}
		if newest(p, fi).After(now.Add(-StaleAfter)) {
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			note(err)
			continue
		}
		removed = append(removed, p)
	}
	return removed, first
}

// Live reports whether the process that made the work folder dir still
// holds its lock. It fails with an error wrapping fs.ErrNotExist when dir
// has no lock file.
func Live(dir string) (bool, error) {
	f, err := safefs.OpenFile(filepath.Join(dir, lockName), os.O_RDONLY, 0)
	if err != nil {
		return false, err
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("work folder %s: %w", dir, err)
	}
	return false, nil // closing f gives the lock back
}

// removeDead removes the folder dir of a dead process, holding its lock
// meanwhile so that two sweeps do not race (the second finds no lock
// file, or a folder that is gone).
func removeDead(dir string) error {
	f, err := safefs.OpenFile(filepath.Join(dir, lockName), os.O_RDONLY, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("work folder %s: %w", dir, err)
	}
	return os.RemoveAll(dir)
}

func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// owned reports whether the running user owns fi.
func owned(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return !ok || int(st.Uid) == os.Geteuid()
}

// newest returns the latest modification time of p and, for a folder,
// of everything in it (links are not followed).
func newest(p string, fi fs.FileInfo) time.Time {
	t := fi.ModTime()
	if !fi.IsDir() {
		return t
	}
	_ = filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if info, err := d.Info(); err == nil && info.ModTime().After(t) {
			t = info.ModTime()
		}
		return nil
	})
	return t
}
