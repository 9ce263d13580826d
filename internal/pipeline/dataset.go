package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/format/snapshot"
	"github.com/countydatasync/countysync/internal/record"
	"github.com/countydatasync/countysync/internal/source"
	"github.com/countydatasync/countysync/internal/state"
	"github.com/countydatasync/countysync/internal/storage"
)

// datasetRun carries one dataset's run through its steps.
type datasetRun struct {
	env      *Env
	job      Job
	d        *config.Dataset
	opts     Options
	formats  []string
	res      *DatasetResult
	warnings Warnings

	// watermark state
	wm       *state.Watermark // the watermark the run starts from
	stateJob string           // job of the watermark in the state store ("" if none)
	cursor   record.Value     // highest cursor seen (starts at the watermark)

	snapPath string
	exp      *exporter
	// published is true once latest names point at this run's files.
	published bool
}

// formatsFor returns the formats a dataset is rendered in for opts.
func formatsFor(d *config.Dataset, opts Options) []string {
	if len(opts.Formats) == 0 {
		return d.Formats
	}
	var out []string
	for _, f := range opts.Formats {
		if f == "geojson" && d.Geometry == nil {
			continue
		}
		out = append(out, f)
	}
	return out
}

// runDataset runs one dataset through extract, export and publish.
// writeManifest is called after the latest names moved and before the
// watermark advances.
func runDataset(ctx context.Context, env *Env, job Job, d *config.Dataset, opts Options,
	writeManifest func(context.Context, *DatasetResult) error) *DatasetResult {
	r := &datasetRun{env: env, job: job, d: d, opts: opts, formats: formatsFor(d, opts)}
	r.res = &DatasetResult{Name: d.Name, Mode: "full", start: env.now()}
	err := r.run(ctx, writeManifest)
	if err != nil {
		r.deleteArtifacts(ctx)
	}
	r.cleanup()
	res := r.res
	res.DurationSeconds = env.now().Sub(res.start).Seconds()
	res.WarningCount = r.warnings.Count()
	res.Warnings = r.warnings.Messages()
	if err != nil {
		res.Success = false
		res.Error = err.Error()
		if errors.Is(err, context.Canceled) {
			env.Log.Warn("dataset cancelled", "job_id", job.ID, "dataset", d.Name)
		} else {
			env.Log.Error("dataset failed", "job_id", job.ID, "dataset", d.Name, "error", err)
		}
		return res
	}
	res.Success = true
	return res
}

func (r *datasetRun) run(ctx context.Context, writeManifest func(context.Context, *DatasetResult) error) error {
	env, d := r.env, r.d
	if r.opts.Incremental && d.Incremental == nil {
		return fmt.Errorf("dataset %s: --incremental given but the dataset has no incremental: section", d.Name)
	}
	if len(r.formats) == 0 {
		return fmt.Errorf("dataset %s: no formats to write", d.Name)
	}
	lock, err := env.State.Lock(ctx, d.Name, r.job.ID, env.Config.State.LockWait.D())
	if err != nil {
		return err
	}
	defer lock.Release(context.WithoutCancel(ctx))

	if err := r.loadWatermark(ctx); err != nil {
		return err
	}
	env.Log.Info("extracting", "job_id", r.job.ID, "dataset", d.Name, "mode", r.res.Mode)
	if err := r.extract(ctx); err != nil {
		return err
	}
	env.Log.Info("extracted", "job_id", r.job.ID, "dataset", d.Name, "records", r.res.Records, "rows_read", r.res.RowsRead)
	if err := r.exp.upload(ctx, env.Store); err != nil {
		return fmt.Errorf("dataset %s: %w", d.Name, err)
	}
	r.res.Artifacts = r.exp.artifacts
	return r.publish(ctx, writeManifest)
}

// loadWatermark reads the dataset's watermark (restoring it from the newest
// manifest if the state store lost it) and picks the run's mode.
func (r *datasetRun) loadWatermark(ctx context.Context) error {
	env, d := r.env, r.d
	if d.Incremental == nil {
		return nil
	}
	wm, err := env.State.Get(ctx, d.Name)
	if err != nil {
		return fmt.Errorf("dataset %s: read watermark: %w", d.Name, err)
	}
	if wm != nil {
		r.stateJob = wm.JobID
	}
	if r.opts.Full {
		r.wm = wm
		return nil
	}
	if wm == nil {
		if wm, err = restoreWatermark(ctx, env, d.Name); err != nil {
			env.Log.Warn("could not restore watermark from manifests; running full", "dataset", d.Name, "error", err)
			wm = nil
		} else if wm != nil {
			env.Log.Warn("watermark missing from the state store; restored from the newest manifest",
				"dataset", d.Name, "manifest_job", wm.JobID, "watermark", wm.Cursor.Value)
		}
	}
	r.wm = wm
	if wm == nil || wm.Snapshot == "" {
		return nil
	}
	c, err := wm.Cursor.Decode()
	if err != nil {
		return fmt.Errorf("dataset %s: watermark: %w", d.Name, err)
	}
	r.cursor = c
	before := wm.Cursor
	r.res.WatermarkBefore = &before
	r.res.Mode = "incremental"
	return nil
}

// extract runs the query and feeds the rows into the snapshot (incremental
// datasets) or straight into the writers.
func (r *datasetRun) extract(ctx context.Context) error {
	env, d := r.env, r.d
	var filter *source.Filter
	if r.res.Mode == "incremental" {
		filter = &source.Filter{
			Column: d.Incremental.Column,
			Min:    state.Lookback(r.cursor, d.Incremental.Lookback.D()),
			Nulls:  source.NullCursor(d.Incremental.NullCursor),
		}
	}
	rows, err := env.Source.Query(ctx, d.Query, filter)
	if err != nil {
		return fmt.Errorf("dataset %s: %w", d.Name, err)
	}
	defer rows.Close()
	in := rows.Schema()
	st, err := newStage(d, in, r.opts.Strict, &r.warnings)
	if err != nil {
		return err
	}
	if d.Incremental == nil {
		if r.exp, err = newExporter(env.Store, r.job, d, st.schema, r.formats); err != nil {
			return err
		}
		for rows.Next() {
			row := rows.Row()
			r.res.RowsRead++
			if err := st.transform(row); err != nil {
				return err
			}
			if err := r.render(st, row); err != nil {
				return err
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("dataset %s: %w", d.Name, err)
		}
		r.res.Records = r.exp.rows
		return r.exp.finish()
	}
	if err := r.merge(ctx, rows, st); err != nil {
		return err
	}
	return r.renderSnapshot(ctx, st)
}

func (r *datasetRun) render(st *stage, row record.Row) error {
	if err := st.prepare(row); err != nil {
		return err
	}
	if err := r.exp.write(row); err != nil {
		return fmt.Errorf("dataset %s, %s: %w", r.d.Name, st.key(row), err)
	}
	r.env.Progress.Add(1)
	return nil
}

// merge reads the query's rows into the dataset's snapshot: a copy of the
// previous one for incremental runs, a new one otherwise.
func (r *datasetRun) merge(ctx context.Context, rows source.Rows, st *stage) error {
	env, d := r.env, r.d
	in := rows.Schema()
	cursorIdx, err := in.MustIndex(d.Incremental.Column)
	if err != nil {
		return fmt.Errorf("dataset %s: incremental.column: %w", d.Name, err)
	}
	deletedIdx := -1
	if d.Incremental.DeletedColumn != "" {
		if deletedIdx, err = in.MustIndex(d.Incremental.DeletedColumn); err != nil {
			return fmt.Errorf("dataset %s: incremental.deleted_column: %w", d.Name, err)
		}
	}
	r.snapPath = filepath.Join(env.Store.WorkDir(), r.job.ID+"-"+d.Name+".snapshot.sqlite")
	os.Remove(r.snapPath)
	var sw *snapshot.Writer
	if r.res.Mode == "incremental" {
		if err := fetch(ctx, env.Store, r.wm.Snapshot, r.snapPath); err != nil {
			return fmt.Errorf("dataset %s: previous snapshot: %w (run with --full to rebuild)", d.Name, err)
		}
		sw, err = snapshot.Merge(ctx, r.snapPath, d.Name, st.schema, d.KeyColumns)
	} else {
		sw, err = snapshot.Create(ctx, r.snapPath, d.Name, st.schema, d.KeyColumns)
	}
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			sw.Abort()
		}
	}()
	for rows.Next() {
		row := rows.Row()
		r.res.RowsRead++
		if err := r.advanceCursor(row[cursorIdx], st, row); err != nil {
			return err
		}
		deleted := deletedIdx >= 0 && truthy(row[deletedIdx])
		if err := st.transform(row); err != nil {
			return err
		}
		if deleted {
			if r.res.Mode == "incremental" {
				gone, err := sw.Delete(ctx, row)
				if err != nil {
					return fmt.Errorf("dataset %s, %s: %w", d.Name, st.key(row), err)
				}
				if gone {
					r.res.Deleted++
				}
			}
			continue
		}
		change, err := sw.Put(ctx, row)
		if err != nil {
			return fmt.Errorf("dataset %s, %s: %w", d.Name, st.key(row), err)
		}
		switch change {
		case snapshot.Inserted:
			r.res.Inserted++
		case snapshot.Updated:
			r.res.Updated++
		case snapshot.Unchanged:
			r.res.Unchanged++
		}
		env.Progress.Add(1)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("dataset %s: %w", d.Name, err)
	}
	committed = true
	return sw.Commit()
}

// advanceCursor raises the run's cursor to the row's cursor value.
func (r *datasetRun) advanceCursor(c record.Value, st *stage, row record.Row) error {
	if c.Kind == record.Null {
		if r.d.Incremental.NullCursor == string(source.NullError) {
			return fmt.Errorf("dataset %s, %s: cursor column %s is NULL (incremental.null_cursor: error)",
				r.d.Name, st.key(row), r.d.Incremental.Column)
		}
		return nil
	}
	if _, err := state.EncodeCursor(c); err != nil {
		return fmt.Errorf("dataset %s: incremental.column %s: %w", r.d.Name, r.d.Incremental.Column, err)
	}
	if r.cursor.Kind != record.Null && r.cursor.Kind != c.Kind {
		return fmt.Errorf("dataset %s: cursor column %s is %s now but the watermark is %s; run with --full",
			r.d.Name, r.d.Incremental.Column, c.Kind, r.cursor.Kind)
	}
	if r.cursor.Kind == record.Null || state.Less(r.cursor, c) {
		r.cursor = c
		r.cursor.B = nil
	}
	return nil
}

func truthy(v record.Value) bool {
	switch v.Kind {
	case record.Bool, record.Int:
		return v.I != 0
	case record.Text:
		return slices.Contains([]string{"t", "true", "y", "yes", "1"}, v.S)
	}
	return false
}

// renderSnapshot renders the committed snapshot into every format.
func (r *datasetRun) renderSnapshot(ctx context.Context, st *stage) error {
	rd, err := snapshot.Open(ctx, r.snapPath)
	if err != nil {
		return fmt.Errorf("dataset %s: %w", r.d.Name, err)
	}
	defer rd.Close()
	if r.exp, err = newExporter(r.env.Store, r.job, r.d, rd.Schema(), r.formats); err != nil {
		return err
	}
	for rd.Next() {
		if err := r.render(st, rd.Row()); err != nil {
			return err
		}
	}
	if err := rd.Err(); err != nil {
		return fmt.Errorf("dataset %s: %w", r.d.Name, err)
	}
	r.res.Records = r.exp.rows
	return r.exp.finish()
}

// publish moves the latest names, stores the snapshot, writes the
// manifest and advances the watermark, in that order.
func (r *datasetRun) publish(ctx context.Context, writeManifest func(context.Context, *DatasetResult) error) error {
	env, d := r.env, r.d
	var newWM *state.Watermark
	if d.Incremental != nil {
		key := SnapshotKey(d.Name, r.job.ID)
		if err := env.Store.Put(ctx, key, r.snapPath, false); err != nil {
			return fmt.Errorf("dataset %s: store snapshot: %w", d.Name, err)
		}
		c, _ := state.EncodeCursor(r.cursor)
		newWM = &state.Watermark{Cursor: c, JobID: r.job.ID, Snapshot: key, Rows: r.res.Records, UpdatedAt: env.now().UTC()}
		r.res.WatermarkAfter = &c
		r.res.Snapshot = key
	}
	for _, a := range r.exp.artifacts {
		if err := env.Store.Link(ctx, a.Latest, a.Key); err != nil {
			return fmt.Errorf("dataset %s: %w", d.Name, err)
		}
		r.published = true
		env.Log.Info("exported", "job_id", r.job.ID, "dataset", d.Name, "format", a.Format, "path", a.Path, "rows", a.Rows)
	}
	r.res.Success = true
	if err := writeManifest(ctx, r.res); err != nil {
		r.res.Success = false
		return fmt.Errorf("dataset %s: write manifest: %w", d.Name, err)
	}
	if newWM == nil {
		return nil
	}
	if err := env.State.Set(ctx, d.Name, r.stateJob, newWM); err != nil {
		r.res.Success = false
		return fmt.Errorf("dataset %s: advance watermark: %w", d.Name, err)
	}
	if r.wm != nil && r.wm.Snapshot != "" && r.wm.Snapshot != newWM.Snapshot {
		if err := env.Store.Delete(ctx, r.wm.Snapshot); err != nil {
			env.Log.Warn("could not delete the previous snapshot", "dataset", d.Name, "key", r.wm.Snapshot, "error", err)
		}
	}
	return nil
}

// deleteArtifacts removes this run's timestamped files when the run
// failed before the latest names moved to them.
func (r *datasetRun) deleteArtifacts(ctx context.Context) {
	if r.exp == nil || r.published {
		return
	}
	for _, a := range r.exp.artifacts {
		if a.Path != "" {
			_ = r.env.Store.Delete(context.WithoutCancel(ctx), a.Key)
		}
	}
}

// cleanup removes the run's temporary files.
func (r *datasetRun) cleanup() {
	if r.exp != nil {
		r.exp.abort()
	}
	if r.snapPath != "" {
		os.Remove(r.snapPath)
	}
}

// fetch copies the object under key to the local file path.
func fetch(ctx context.Context, store storage.Store, key, path string) error {
	in, err := store.Open(ctx, key)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
