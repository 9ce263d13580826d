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
	"time"

	"github.com/countydatasync/countysync/internal/safefs"
	"github.com/countydatasync/countysync/internal/state"
)

var _ state.Store = (*Store)(nil)

// Store is a state.Store in a JSON file. It is safe for concurrent use.
type Store struct {
	path    string
	lockDir string // absolute: the key of the process's lock table
}

type document struct {
	Version    int                         `json:"version"`
	Watermarks map[string]*state.Watermark `json:"watermarks"`
}

// Open returns a store keeping its state in path (created on first write).
func Open(path string) (*Store, error) {
	if err := safefs.MkdirOwn(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	lockDir, err := filepath.Abs(filepath.Join(filepath.Dir(path), "locks"))
	if err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	return &Store{path: path, lockDir: lockDir}, nil
}

// Path returns the state file's path.
func (s *Store) Path() string { return s.path }

func (s *Store) read() (*document, error) {
	doc := &document{Version: 1, Watermarks: map[string]*state.Watermark{}}
	data, err := safefs.ReadFile(s.path)
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
	f, err := lockFile(s.path+".lock", true)
	if err != nil {
		return err
	}
	defer unlockFile(f)
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

// Close implements state.Store. It does nothing: locks taken through the
// store stay held until they are released or unlocked, or the process
// ends.
func (s *Store) Close() error { return nil }
