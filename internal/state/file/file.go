package file

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/countydatasync/countysync/internal/state"
)

var _ state.Store = (*Store)(nil)

// Store is a state.Store in a JSON file.
type Store struct {
	path string
}

type document struct {
	Version    int                         `json:"version"`
	Watermarks map[string]*state.Watermark `json:"watermarks"`
}

// Open returns a store keeping its state in path (created on first write).
func Open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	return &Store{path: path}, nil
}

// Path returns the state file's path.
func (s *Store) Path() string { return s.path }

func (s *Store) read() (*document, error) {
	doc := &document{Version: 1, Watermarks: map[string]*state.Watermark{}}
	data, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return doc, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state file: %w", err)
	}
	if err := json.Unmarshal(data, doc); err != nil {
		return nil, fmt.Errorf("state file %s is corrupt: %w", s.path, err)
	}
	if doc.Watermarks == nil {
		doc.Watermarks = map[string]*state.Watermark{}
	}
	return doc, nil
}

func (s *Store) write(doc *document) error {
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".state-*")
	if err != nil {
		return fmt.Errorf("write state file: %w", err)
	}
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), s.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write state file: %w", err)
	}
	return nil
}

// update runs fn on the document under the file lock and writes it back if
// fn returns true.
func (s *Store) update(fn func(*document) (bool, error)) error {
	unlock, err := flock(s.path+".lock", true)
	if err != nil {
		return err
	}
	defer unlock()
	doc, err := s.read()
	if err != nil {
		return err
	}
	changed, err := fn(doc)
	if err != nil || !changed {
		return err
	}
	return s.write(doc)
}

// Get implements state.Store.
func (s *Store) Get(ctx context.Context, dataset string) (*state.Watermark, error) {
	var w *state.Watermark
	err := s.update(func(d *document) (bool, error) {
		w = d.Watermarks[dataset]
		return false, nil
	})
	return w, err
}

// Set implements state.Store.
func (s *Store) Set(ctx context.Context, dataset, prevJob string, w *state.Watermark) error {
	return s.update(func(d *document) (bool, error) {
		cur := ""
		if old := d.Watermarks[dataset]; old != nil {
			cur = old.JobID
		}
		if cur != prevJob {
			return false, fmt.Errorf("dataset %s: expected watermark of job %q, found %q: %w", dataset, prevJob, cur, state.ErrConflict)
		}
		d.Watermarks[dataset] = w
		return true, nil
	})
}

// Reset implements state.Store.
func (s *Store) Reset(ctx context.Context, dataset string) error {
	return s.update(func(d *document) (bool, error) {
		d.Watermarks[dataset] = state.ResetWatermark(time.Now())
		return true, nil
	})
}

// List implements state.Store.
func (s *Store) List(ctx context.Context) ([]string, error) {
	var names []string
	err := s.update(func(d *document) (bool, error) {
		for n := range d.Watermarks {
			names = append(names, n)
		}
		return false, nil
	})
	sort.Strings(names)
	return names, err
}

// Lock implements state.Store with a flock(2) on a per-dataset file,
// polled until wait has passed.
func (s *Store) Lock(ctx context.Context, dataset, owner string, wait time.Duration) (state.Lock, error) {
	path := filepath.Join(filepath.Dir(s.path), "locks", dataset+".lock")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", dataset, err)
	}
	deadline := time.Now().Add(wait)
	for {
		unlock, err := flock(path, false)
		if err == nil {
			_ = os.WriteFile(path+".owner", []byte(owner+"\n"), 0o644)
			return &fileLock{unlock: unlock}, nil
		}
		if !errors.Is(err, state.ErrLocked) {
			return nil, err
		}
		if time.Now().After(deadline) {
			holder, _ := os.ReadFile(path + ".owner")
			return nil, fmt.Errorf("dataset %s: another run (%s) still holds its lock after %s: %w",
				dataset, trimNL(holder), wait, state.ErrLocked)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func trimNL(b []byte) string {
	s := string(b)
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	if s == "" {
		return "unknown job"
	}
	return s
}

// Close implements state.Store.
func (s *Store) Close() error { return nil }

type fileLock struct {
	mu     sync.Mutex
	unlock func()
}

func (l *fileLock) Release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.unlock != nil {
		l.unlock()
		l.unlock = nil
	}
	return nil
}

// flock opens path and takes an exclusive lock on it, blocking when block
// is true; otherwise it fails with state.ErrLocked if the lock is held.
func flock(path string, block bool) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
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
			return nil, state.ErrLocked
		}
		return nil, fmt.Errorf("lock file %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
