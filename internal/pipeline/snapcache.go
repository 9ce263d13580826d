package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/countydatasync/countysync/internal/safefs"
	"github.com/countydatasync/countysync/internal/storage"
)

// SnapshotCache keeps the snapshots this process extracted or fetched, so
// the render steps of a job that run in the same process read the local
// copy instead of downloading the snapshot once per format. Concurrent
// first uses of a key download it once; files in use are never evicted;
// at most keep files stay.
type SnapshotCache struct {
	dir  string
	keep int

	mu    sync.Mutex
	users map[string]int           // path → tasks reading it
	calls map[string]chan struct{} // path → download in flight
}

// NewSnapshotCache returns a cache of at most keep snapshots in dir.
func NewSnapshotCache(dir string, keep int) *SnapshotCache {
	_ = safefs.MkdirOwn(dir) // a refused folder fails each use instead
	return &SnapshotCache{dir: dir, keep: keep, users: map[string]int{}, calls: map[string]chan struct{}{}}
}

func (c *SnapshotCache) path(key string) string {
	return filepath.Join(c.dir, strings.NewReplacer("/", "_", "\\", "_").Replace(key))
}

// adopt moves a snapshot this worker just extracted into the cache.
func (c *SnapshotCache) adopt(key, local string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if os.Rename(local, c.path(key)) == nil {
		c.evictLocked()
	}
}

// get returns a local copy of the snapshot under key, downloading it if
// needed, and a release function to call when done reading it.
func (c *SnapshotCache) get(ctx context.Context, store storage.Store, key string) (string, func(), error) {
	p := c.path(key)
	for {
		c.mu.Lock()
		if wait, busy := c.calls[p]; busy {
			c.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return "", nil, ctx.Err()
			}
		}
		if _, err := os.Stat(p); err == nil {
			c.users[p]++
			c.mu.Unlock()
			return p, c.releaser(p), nil
		}
		done := make(chan struct{})
		c.calls[p] = done
		c.mu.Unlock()
		tmp := p + ".part"
		err := fetch(ctx, store, key, tmp)
		if err == nil {
			err = os.Rename(tmp, p)
		}
		c.mu.Lock()
		delete(c.calls, p)
		close(done)
		if err != nil {
			c.mu.Unlock()
			os.Remove(tmp)
			return "", nil, err
		}
		c.users[p]++
		c.evictLocked()
		c.mu.Unlock()
		return p, c.releaser(p), nil
	}
}

func (c *SnapshotCache) releaser(p string) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.users[p]--; c.users[p] <= 0 {
				delete(c.users, p)
			}
		})
	}
}

// evictLocked removes the oldest unused files beyond keep.
func (c *SnapshotCache) evictLocked() {
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		return
	}
	type file struct {
		path string
		mod  int64
	}
	var files []file
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".part") {
			continue
		}
		if info, err := e.Info(); err == nil {
			files = append(files, file{filepath.Join(c.dir, e.Name()), info.ModTime().UnixNano()})
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].mod > files[j].mod })
	for i, f := range files {
		if i >= c.keep && c.users[f.path] == 0 {
			os.Remove(f.path)
		}
	}
}

// drop removes the snapshot under key (its dataset published and the
// snapshot is no longer anyone's input) unless a step still reads it.
func (c *SnapshotCache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.path(key); c.users[p] == 0 {
		os.Remove(p)
	}
}

// RemoveAll deletes the cache's folder (a private cache at the end of an
// embedded run).
func (c *SnapshotCache) RemoveAll() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return os.RemoveAll(c.dir)
}
