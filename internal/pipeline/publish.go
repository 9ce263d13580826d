package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/state"
)

// Publish makes a dataset's run visible, in an order that never loses
// data: store the snapshot (if snapPath is set; workers stored it at
// extract), point every latest name at the new files, write the manifest
// (through writeManifest), and only then advance the watermark with a
// compare-and-set on the watermark the run started from. A failure before
// the watermark moves leaves the old watermark: the next run re-reads what
// this one read and merges it again, idempotently.
func Publish(ctx context.Context, env *Env, job Job, d *config.Dataset, ext *Extraction, artifacts []*Artifact,
	snapPath string, res *DatasetResult, writeManifest func(context.Context, *DatasetResult) error) error {
	var newWM *state.Watermark
	key := SnapshotKey(d.Name, job.ID)
	if d.Incremental != nil {
		if snapPath != "" {
			if err := env.Store.Put(ctx, key, snapPath, false); err != nil {
				return fmt.Errorf("dataset %s: store snapshot: %w", d.Name, err)
			}
		}
		newWM = &state.Watermark{Cursor: *ext.WatermarkAfter, JobID: job.ID, Snapshot: key, Rows: ext.Records, UpdatedAt: env.now().UTC()}
		res.Snapshot = key
	}
	// Every file is written: move the latest names together (server-side
	// copies on S3 run in parallel).
	errs := make([]error, len(artifacts))
	forEach(artifacts, func(i int, a *Artifact) { errs[i] = env.Store.Link(ctx, a.Latest, a.Key) })
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("dataset %s: %w", d.Name, err)
	}
	for _, a := range artifacts {
		env.Log.Info("exported", "job_id", job.ID, "dataset", d.Name, "format", a.Format, "path", a.Path, "rows", a.Rows)
	}
	res.Success = true
	if err := writeManifest(ctx, res); err != nil {
		res.Success = false
		return linkedError{fmt.Errorf("dataset %s: write manifest: %w", d.Name, err)}
	}
	if newWM != nil {
		if err := advance(ctx, env, job, d, ext, newWM); err != nil {
			res.Success = false
			return linkedError{err}
		}
	}
	prune(ctx, env, job, d, artifacts)
	return nil
}

// advance moves the watermark to newWM by compare-and-set on the one the
// run started from, then deletes the snapshot the run merged into.
func advance(ctx context.Context, env *Env, job Job, d *config.Dataset, ext *Extraction, newWM *state.Watermark) error {
	if err := env.State.Set(ctx, d.Name, ext.StateJob, newWM); err != nil {
		// A retried publish (a worker died after the watermark moved)
		// finds its own watermark: that is success, not a conflict.
		if cur, gerr := env.State.Get(ctx, d.Name); !errors.Is(err, state.ErrConflict) || gerr != nil || cur == nil || cur.JobID != job.ID {
			return fmt.Errorf("dataset %s: advance watermark: %w", d.Name, err)
		}
	}
	if ext.PrevSnapshot != "" && ext.PrevSnapshot != newWM.Snapshot {
		if err := env.Store.Delete(ctx, ext.PrevSnapshot); err != nil {
			env.Log.Warn("could not delete the previous snapshot", "dataset", d.Name, "key", ext.PrevSnapshot, "error", err)
		}
	}
	return nil
}

// linkedError marks a Publish failure after the latest names moved to the
// run's files: those files must stay (see Linked).
type linkedError struct{ err error }

func (e linkedError) Error() string { return e.err.Error() }
func (e linkedError) Unwrap() error { return e.err }

// Linked reports whether err is a Publish failure that came after the
// latest names were pointed at the run's files. Cleanup must then leave
// the files alone: a latest name may point at them (a symlink on local
// storage would dangle).
func Linked(err error) bool {
	var l linkedError
	return errors.As(err, &l)
}

// ResultOf starts a dataset's result from its extraction.
func ResultOf(ext *Extraction) *DatasetResult {
	return &DatasetResult{
		Name: ext.Dataset, Mode: ext.Mode, Records: ext.Records, RowsRead: ext.RowsRead,
		Inserted: ext.Inserted, Updated: ext.Updated, Deleted: ext.Deleted, Unchanged: ext.Unchanged,
		WatermarkBefore: ext.WatermarkBefore, WatermarkAfter: ext.WatermarkAfter,
	}
}
