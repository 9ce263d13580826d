package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/countydatasync/countysync/internal/storage"
	"github.com/countydatasync/countysync/internal/workdir"
)

var _ storage.Sweeper = (*Store)(nil)

// Leftovers implements storage.Sweeper: files under .countysync/tmp,
// except in the work folders of live processes (whose snapshot caches
// hold old files on purpose), and ".tmp-" files beside published ones,
// last modified before before.
func (s *Store) Leftovers(ctx context.Context, before time.Time) ([]storage.Leftover, error) {
	var out []storage.Leftover
	work := filepath.Join(s.root, tmpDir)
	err := filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			if filepath.Dir(p) == work && strings.HasPrefix(d.Name(), workPrefix) {
				if live, err := workdir.Live(p); err == nil && live {
					return filepath.SkipDir
				}
			}
			return nil
		}
		inWork := strings.HasPrefix(p, work+string(filepath.Separator))
		if !inWork && !strings.HasPrefix(d.Name(), ".tmp-") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !info.ModTime().Before(before) {
			return nil
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			return err
		}
		out = append(out, storage.Leftover{Key: filepath.ToSlash(rel), Kind: "temporary file", Modified: info.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list leftovers: %w", err)
	}
	return out, nil
}

// RemoveLeftover implements storage.Sweeper.
func (s *Store) RemoveLeftover(ctx context.Context, l storage.Leftover) error {
	clean := path.Clean("/" + l.Key)[1:]
	if clean != l.Key || clean == "" || strings.HasPrefix(clean, "../") {
		return storage.Permanent(fmt.Errorf("invalid leftover %q", l.Key))
	}
	if !strings.HasPrefix(clean, tmpDir+"/") && !strings.HasPrefix(path.Base(clean), ".tmp-") {
		return storage.Permanent(fmt.Errorf("%q is not a temporary file", l.Key))
	}
	if err := os.Remove(filepath.Join(s.root, filepath.FromSlash(clean))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", l.Key, err)
	}
	return nil
}
