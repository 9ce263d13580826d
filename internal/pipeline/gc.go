package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/countydatasync/countysync/internal/format"
	"github.com/countydatasync/countysync/internal/storage"
)

// GCOptions say what GC collects.
type GCOptions struct {
	// OlderThan protects everything newer: a file whose job started, or
	// a leftover written, less than OlderThan ago is never collected.
	OlderThan time.Duration
	// Apply deletes what GC finds; without it GC only lists.
	Apply bool
}

// Garbage is one object GC collects (or would).
type Garbage struct {
	Key string
	// Why it is garbage.
	Why string
	// Deleted is true once Apply deleted it; Err says why it was not.
	Deleted bool
	Err     error

	leftover *storage.Leftover
}

// GC finds the objects in storage that no manifest references (see
// docs/ARCHITECTURE.md, File names):
//
//   - timestamped files of a known dataset (in the config or in a
//     manifest) that no manifest lists, except one whose bytes a latest
//     name holds;
//   - snapshots that neither a watermark nor a manifest names;
//   - the store's leftovers: temporary files, claims of exclusive puts
//     and unfinished uploads of writers that died (storage.Sweeper).
//
// Nothing newer than opts.OlderThan is collected (files by their job's
// start, leftovers by when they were last written), and nothing else is
// considered: manifests, latest names, the state and keys countysync
// does not name stay. With opts.Apply it deletes what it found. It reads
// every manifest first and stops at one it cannot read, so that nothing a
// manifest names is ever collected.
func GC(ctx context.Context, env *Env, opts GCOptions) ([]*Garbage, error) {
	cutoff := env.now().Add(-opts.OlderThan)
	manifests, err := ReadManifests(ctx, env.Store, env.Log, true)
	if err != nil {
		return nil, fmt.Errorf("read manifests (gc collects nothing while one cannot be read): %w", err)
	}
	referenced := map[string]bool{}
	known := map[string]bool{}
	for _, d := range env.Config.Datasets {
		known[d.Name] = true
	}
	for _, m := range manifests {
		for name, r := range m.Datasets {
			known[name] = true
			for _, a := range r.Artifacts {
				referenced[a.Key] = true
			}
			if r.Snapshot != "" {
				referenced[r.Snapshot] = true
			}
		}
	}
	keys, err := env.Store.List(ctx, "")
	if err != nil {
		return nil, err
	}
	// Datasets with snapshots or watermarks are known too.
	for _, k := range keys {
		if ds, _, ok := parseSnapshotKey(k); ok {
			known[ds] = true
		}
	}
	withWM, err := env.State.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list watermarks: %w", err)
	}
	for _, name := range withWM {
		known[name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(known)) {
		wm, err := env.State.Get(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("dataset %s: read watermark: %w", name, err)
		}
		if wm != nil && wm.Snapshot != "" {
			referenced[wm.Snapshot] = true
		}
	}

	latest := &latestSums{store: env.Store, sums: map[string]string{}}
	var out []*Garbage
	for _, k := range keys {
		if referenced[k] {
			continue
		}
		if ds, stamp, f, ok := parseArtifactKey(k); ok && known[ds] {
			if !jobBefore(stamp, cutoff) {
				continue
			}
			held, err := latest.holds(ctx, LatestKey(ds, f), k)
			if err != nil {
				return nil, err
			}
			if !held {
				out = append(out, &Garbage{Key: k, Why: "timestamped file no manifest lists"})
			}
			continue
		}
		if _, id, ok := parseSnapshotKey(k); ok {
			if job, err := ParseJob(id); err == nil && job.Start.Before(cutoff) {
				out = append(out, &Garbage{Key: k, Why: "snapshot no watermark or manifest names"})
			}
		}
	}
	if sw, ok := env.Store.(storage.Sweeper); ok {
		left, err := sw.Leftovers(ctx, cutoff)
		if err != nil {
			return nil, err
		}
		for _, l := range left {
			out = append(out, &Garbage{Key: l.Key, Why: fmt.Sprintf("%s left by an interrupted writer (%s)", l.Kind, l.Modified.UTC().Format(time.RFC3339)), leftover: &l})
		}
	}
	if !opts.Apply {
		return out, nil
	}
	for _, g := range out {
		if g.leftover != nil {
			g.Err = env.Store.(storage.Sweeper).RemoveLeftover(ctx, *g.leftover)
		} else {
			g.Err = env.Store.Delete(ctx, g.Key)
		}
		g.Deleted = g.Err == nil
		if g.Err != nil {
			env.Log.Warn("gc: cannot delete", "key", g.Key, "error", g.Err)
		} else {
			env.Log.Info("gc: deleted", "key", g.Key, "why", g.Why)
		}
	}
	return out, nil
}

// jobBefore reports whether the job of stamp started before t.
func jobBefore(stamp string, t time.Time) bool {
	start, err := time.Parse(JobIDLayout, stamp)
	return err == nil && start.Before(t)
}

// parseArtifactKey splits a timestamped file's key,
// "<dataset>_<YYYYMMDD>_<HHMMSS>.<ext>", into its parts.
func parseArtifactKey(key string) (dataset, stamp, formatName string, ok bool) {
	if strings.Contains(key, "/") {
		return "", "", "", false
	}
	dot := strings.LastIndexByte(key, '.')
	if dot < 0 {
		return "", "", "", false
	}
	base, ext := key[:dot], key[dot+1:]
	for _, name := range format.Names() {
		if format.Ext(name) == ext {
			formatName = name
		}
	}
	const stampLen = len("20060102_150405")
	if formatName == "" || len(base) < stampLen+2 || base[len(base)-stampLen-1] != '_' {
		return "", "", "", false
	}
	dataset, stamp = base[:len(base)-stampLen-1], base[len(base)-stampLen:]
	if !stampRE.MatchString(stamp) {
		return "", "", "", false
	}
	return dataset, stamp, formatName, true
}

// parseSnapshotKey splits ".countysync/snapshots/<dataset>/<job>.sqlite".
func parseSnapshotKey(key string) (dataset, jobID string, ok bool) {
	rest, ok := strings.CutPrefix(key, ".countysync/snapshots/")
	if !ok {
		return "", "", false
	}
	dataset, file, ok := strings.Cut(rest, "/")
	jobID, isSQLite := strings.CutSuffix(file, ".sqlite")
	if !ok || !isSQLite || dataset == "" || strings.Contains(file, "/") || SnapshotKey(dataset, jobID) != key {
		return "", "", false
	}
	return dataset, jobID, true
}

// latestSums hashes latest names once each, to tell whether one holds a
// given file (a latest name is a copy on S3, a symlink on local disk).
type latestSums struct {
	store storage.Store
	sums  map[string]string // latest key → sha256, "" when missing
}

func (l *latestSums) holds(ctx context.Context, latestKey, key string) (bool, error) {
	sum, ok := l.sums[latestKey]
	if !ok {
		var err error
		if sum, err = sha256Of(ctx, l.store, latestKey); err != nil {
			return false, err
		}
		l.sums[latestKey] = sum
	}
	if sum == "" {
		return false, nil
	}
	other, err := sha256Of(ctx, l.store, key)
	return other == sum, err
}

// sha256Of hashes the object under key; "" if there is none.
func sha256Of(ctx context.Context, store storage.Store, key string) (string, error) {
	rc, err := store.Open(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return "", fmt.Errorf("read %s: %w", key, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
