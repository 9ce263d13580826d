package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/countydatasync/countysync/internal/safefs"
	"github.com/countydatasync/countysync/internal/storage"
	"github.com/countydatasync/countysync/internal/workdir"
)

var _ storage.Store = (*Store)(nil)

// tmpDir is the folder under the root that holds the work folders.
const tmpDir = ".countysync/tmp"

// workPrefix starts the name of each store's work folder under tmpDir.
const workPrefix = "run-"

// Store is a storage.Store on a local directory.
type Store struct {
	root  string
	work  *workdir.Dir
	swept []string
}

// Open returns a store rooted at dir, creating the directory if needed.
// It fails with a clear message if the directory cannot be created or
// written. The store's work folder, .countysync/tmp/run-<pid>-<random>,
// is its own until Close removes it; Open first removes the work folders
// of processes that died, and whatever else under .countysync/tmp has
func Open(dir string) (*Store, error) {
	// not changed for a day (see internal/workdir).
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("export directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("export directory %s cannot be created: %w", abs, unwrapPathError(err))
	}
	// countysync's own folders: never links, always the running user's.
	for _, dir := range []string{filepath.Join(abs, ".countysync"), filepath.Join(abs, tmpDir)} {
		if err := safefs.MkdirOwn(dir); err != nil {
			return nil, fmt.Errorf("export directory %s: %w", abs, unwrapPathError(err))
		}
	}
	work, swept, err := workdir.Acquire(filepath.Join(abs, tmpDir), workPrefix, true)
	if err != nil {
		return nil, fmt.Errorf("export directory %s is not writable: %w", abs, unwrapPathError(err))
	}
	return &Store{root: abs, work: work, swept: swept}, nil
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Swept returns the stale work folders and files (of processes that
// died) that Open removed, for the caller to log.
func (s *Store) Swept() []string { return s.swept }

// Root returns the store's directory.
func (s *Store) Root() string { return s.root }

// WorkDir implements storage.Store: the store's own work folder under
// .countysync/tmp, removed by Close.
func (s *Store) WorkDir() string { return s.work.Path() }

func (s *Store) path(key string) (string, error) {
	clean := path.Clean("/" + key)[1:]
	if clean == "" || clean != key || strings.HasPrefix(clean, "../") {
		return "", storage.Permanent(fmt.Errorf("invalid storage key %q", key))
	}
	p := filepath.Join(s.root, filepath.FromSlash(clean))
	// A folder of the key that is a link would take the write elsewhere.
	if err := safefs.CheckPath(s.root, p); err != nil {
		return "", storage.Permanent(fmt.Errorf("storage key %q: %w", key, err))
	}
	return p, nil
}

// Put implements storage.Store. The file is moved into place with a
// rename when it lives on the same file system, otherwise copied to a
// temporary name beside the target first.
func (s *Store) Put(ctx context.Context, key, src string, exclusive bool) error {
	dst, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	tmp := src
	if !sameDir(src, s.WorkDir()) {
		if tmp, err = copyToTemp(ctx, src, filepath.Dir(dst)); err != nil {
			return fmt.Errorf("put %s: %w", key, err)
		}
		defer os.Remove(tmp)
	}
	if exclusive {
		// link(2) fails if dst exists: no other run's file is replaced.
		if err := os.Link(tmp, dst); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("put %s: %w", key, storage.ErrExists)
			}
			return fmt.Errorf("put %s: %w", key, err)
		}
		return os.Remove(tmp)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

func sameDir(file, dir string) bool {
	return filepath.Dir(file) == filepath.Clean(dir)
}

func copyToTemp(ctx context.Context, src, dir string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return "", err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		os.Remove(out.Name())
		return "", err
	}
	return out.Name(), nil
}

// PutBytes implements storage.Store.
func (s *Store) PutBytes(ctx context.Context, key string, data []byte) error {
	f, err := os.CreateTemp(s.WorkDir(), "put-*")
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := s.Put(ctx, key, f.Name(), false); err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}

// Link implements storage.Store with a relative symlink, created under a
// temporary name and renamed over the old link so readers never see the
// name missing.
func (s *Store) Link(ctx context.Context, latest, target string) error {
	dst, err := s.path(latest)
	if err != nil {
		return err
	}
	tgt, err := s.path(target)
	if err != nil {
		return err
	}
	// A latest name never points at nothing.
	if _, err := os.Stat(tgt); err != nil {
		return fmt.Errorf("link %s -> %s: %w", latest, target, err)
	}
	rel, err := filepath.Rel(filepath.Dir(dst), tgt)
	if err != nil {
		return fmt.Errorf("link %s: %w", latest, err)
	}
	tmp := filepath.Join(filepath.Dir(dst), ".tmp-link-"+filepath.Base(dst))
	os.Remove(tmp)
	if err := os.Symlink(rel, tmp); err != nil {
		return fmt.Errorf("link %s -> %s: %w", latest, target, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("link %s -> %s: %w", latest, target, err)
	}
	return nil
}

// LinkTarget implements storage.Store: the key the symlink at latest
// points at.
func (s *Store) LinkTarget(ctx context.Context, latest string) (string, error) {
	dst, err := s.path(latest)
	if err != nil {
		return "", err
	}
	rel, err := os.Readlink(dst)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("latest name %s: %w", latest, storage.ErrNotFound)
	case err != nil:
		return "", fmt.Errorf("latest name %s: %w: %w", latest, storage.ErrUnknownTarget, err)
	}
	abs := rel
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(filepath.Dir(dst), rel)
	}
	key, err := filepath.Rel(s.root, abs)
	if err != nil || key == ".." || strings.HasPrefix(key, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("latest name %s points outside the store (%s): %w", latest, rel, storage.ErrUnknownTarget)
	}
	return filepath.ToSlash(key), nil
}

// Open implements storage.Store.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open %s: %w", key, storage.ErrNotFound)
	}
	return f, err
}

// List implements storage.Store. Temporary files are not listed.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	start := s.root
	if dir := path.Dir(prefix); strings.Contains(prefix, "/") && dir != "." {
		start = filepath.Join(s.root, filepath.FromSlash(dir))
	}
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == start {
			return filepath.SkipDir
		}
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p == filepath.Join(s.root, tmpDir) {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if strings.HasPrefix(key, prefix) && !strings.HasPrefix(path.Base(key), ".tmp-") {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	sort.Strings(keys)
	return keys, nil
}

// Delete implements storage.Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// Location implements storage.Store.
func (s *Store) Location(key string) string {
	p, err := s.path(key)
	if err != nil {
		return key
	}
	return p
}

// Close implements storage.Store: it removes the work folder.
func (s *Store) Close() error { return s.work.Close() }
