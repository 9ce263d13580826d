package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/format/snapshot"
	"github.com/countydatasync/countysync/internal/record"
)

// FormatsFor returns the formats a dataset is rendered in for opts.
func FormatsFor(d *config.Dataset, opts Options) []string {
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

// runDataset runs one dataset through extract, export and publish in this
// process and returns its result; failures are in the result.
func runDataset(ctx context.Context, env *Env, job Job, d *config.Dataset, opts Options,
	writeManifest func(context.Context, *DatasetResult) error) *DatasetResult {
	start := env.now()
	res, err := runDatasetSteps(ctx, env, job, d, opts, writeManifest)
	if res == nil {
		res = &DatasetResult{Name: d.Name, Mode: "full"}
	}
	res.DurationSeconds = env.now().Sub(start).Seconds()
	if err != nil {
		res.Success = false
		res.Error = err.Error()
		if errors.Is(err, context.Canceled) {
			env.Log.Warn("dataset cancelled", "job_id", job.ID, "dataset", d.Name)
		} else {
			env.Log.Error("dataset failed", "job_id", job.ID, "dataset", d.Name, "error", err)
		}
	}
	return res
}

func runDatasetSteps(ctx context.Context, env *Env, job Job, d *config.Dataset, opts Options,
	writeManifest func(context.Context, *DatasetResult) error) (*DatasetResult, error) {
	if opts.Incremental && d.Incremental == nil {
		return nil, fmt.Errorf("dataset %s: --incremental given but the dataset has no incremental: section", d.Name)
	}
	formats := FormatsFor(d, opts)
	if len(formats) == 0 {
		return nil, fmt.Errorf("dataset %s: no formats to write", d.Name)
	}
	lock, err := env.State.Lock(ctx, d.Name, job.ID, env.Config.State.LockWait.D())
	if err != nil {
		return nil, err
	}
	defer lock.Release(context.WithoutCancel(ctx))
	if d.Incremental == nil {
		res, err := streamDataset(ctx, env, job, d, opts, formats, writeManifest)
		var unordered *notKeyOrderedError
		if !errors.As(err, &unordered) {
			return res, err
		}
		env.Log.Info("rows are not in key order: rendering them through a snapshot (ORDER BY the key columns, COLLATE \"C\" for text, to stream them)",
			"job_id", job.ID, "dataset", d.Name, "row", unordered.row, "key", unordered.key)
	}
	snapPath := filepath.Join(env.Store.WorkDir(), job.ID+"-"+d.Name+".snapshot.sqlite")
	defer os.Remove(snapPath)
	t0 := env.now()
	ext, err := Extract(ctx, env, d, opts, snapPath)
	if err != nil {
		return nil, err
	}
	res := ResultOf(ext)
	t1 := env.now()
	res.ExtractSeconds = roundSeconds(t1.Sub(t0).Seconds())
	arts, w, err := Export(ctx, env, job, d, opts, snapPath, formats, true)
	if err != nil {
		return res, err
	}
	res.ExportSeconds = roundSeconds(env.now().Sub(t1).Seconds())
	res.Artifacts = arts
	res.WarningCount = ext.WarningCount + w.Count()
	res.Warnings = append(ext.Warnings, w.Messages()...)
	if err := Publish(ctx, env, job, d, ext, arts, snapPath, res, writeManifest); err != nil {
		if !res.Success {
			DeleteArtifacts(ctx, env.Store, arts)
		}
		return res, err
	}
	return res, nil
}

// notKeyOrderedError stops streamDataset at the first row whose key is not
// above the previous row's: the files would not be what a snapshot renders.
type notKeyOrderedError struct {
	row int64
	key string
}

func (e *notKeyOrderedError) Error() string {
	return fmt.Sprintf("row %d (%s) is not in key order", e.row, e.key)
}

// streamDataset is the full-run path of a dataset without a snapshot:
// rows stream from the query through the transformations into every
// format at once (DESIGN.md §1 allows it when nothing is merged), so
// memory stays flat and the source is read once. The files must be what
// a snapshot of the rows renders, so the rows must come in the snapshot's
// key order; at the first that does not, streamDataset gives up with a
// *notKeyOrderedError before anything is published, and the caller takes
// the snapshot path.
func streamDataset(ctx context.Context, env *Env, job Job, d *config.Dataset, opts Options, formats []string,
	writeManifest func(context.Context, *DatasetResult) error) (*DatasetResult, error) {
	ext := &Extraction{Dataset: d.Name, Mode: "full"}
	env.Log.Info("extracting", "job_id", job.ID, "dataset", d.Name, "mode", ext.Mode)
	rows, err := query(ctx, env, d, ext, record.Value{})
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	w := &Warnings{}
	st, err := newStage(d, rows.Schema(), opts.Strict, w, true)
	if err != nil {
		return nil, err
	}
	st.renderWKTFor(formats)
	order, err := snapshot.NewKeyOrder(st.schema, d.KeyColumns)
	if err != nil {
		return nil, permanent(fmt.Errorf("dataset %s: %w", d.Name, err))
	}
	exp, err := newExporter(env.Store, job, d, st.schema, formats)
	if err != nil {
		return nil, err
	}
	defer exp.abort()
	for rows.Next() {
		row := rows.Row()
		ext.RowsRead++
		if err := st.transform(row); err != nil {
			return nil, err
		}
		if !order.Next(row) {
			env.Progress.Add(-exp.rows)
			return nil, &notKeyOrderedError{row: ext.RowsRead, key: st.key(row)}
		}
		if err := renderRow(env, exp, st, row); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dataset %s: %w", d.Name, err)
	}
	if err := exp.finish(); err != nil {
		return nil, fmt.Errorf("dataset %s: %w", d.Name, err)
	}
	ext.Records, ext.Inserted = exp.rows, exp.rows
	env.Log.Info("extracted", "job_id", job.ID, "dataset", d.Name, "records", ext.Records, "rows_read", ext.RowsRead)
	if err := exp.upload(ctx, env.Store, true); err != nil {
		return nil, fmt.Errorf("dataset %s: %w", d.Name, err)
	}
	res := ResultOf(ext)
	res.Artifacts = exp.artifacts
	res.WarningCount, res.Warnings = w.Count(), w.Messages()
	if err := Publish(ctx, env, job, d, ext, exp.artifacts, "", res, writeManifest); err != nil {
		if !res.Success {
			DeleteArtifacts(ctx, env.Store, exp.artifacts)
		}
		return res, err
	}
	return res, nil
}
