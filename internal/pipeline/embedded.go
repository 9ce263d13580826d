package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/format"
)

// FormatsFor returns the formats a dataset is rendered in for opts: its
// own, or opts.Formats without the formats that need a geometry column
// (geojson, gpkg) when it has none.
func FormatsFor(d *config.Dataset, opts Options) []string {
	if len(opts.Formats) == 0 {
		return d.Formats
	}
	var out []string
	for _, f := range opts.Formats {
		if spec, _ := format.Lookup(f); spec.NeedsGeometry && d.Geometry == nil {
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
	ext, arts, w, streamed, err := Stream(ctx, env, job, d, opts, formats, true)
	if err != nil {
		return nil, err
	}
	if streamed {
		res := ResultOf(ext)
		res.Artifacts = arts
		res.WarningCount, res.Warnings = w.Count(), w.Messages()
		return res, publishOrDelete(ctx, env, job, d, ext, "", res, writeManifest)
	}
	snapPath := filepath.Join(env.Store.WorkDir(), job.ID+"-"+d.Name+".snapshot.sqlite")
	defer os.Remove(snapPath)
	t0 := env.now()
	if ext, err = Extract(ctx, env, d, opts, snapPath); err != nil {
		return nil, err
	}
	res := ResultOf(ext)
	t1 := env.now()
	res.ExtractSeconds = roundSeconds(t1.Sub(t0).Seconds())
	if arts, w, err = Export(ctx, env, job, d, opts, snapPath, formats, true); err != nil {
		return res, err
	}
	res.ExportSeconds = roundSeconds(env.now().Sub(t1).Seconds())
	res.Artifacts = arts
	res.WarningCount = ext.WarningCount + w.Count()
	res.Warnings = append(ext.Warnings, w.Messages()...)
	return res, publishOrDelete(ctx, env, job, d, ext, snapPath, res, writeManifest)
}

// publishOrDelete publishes res.Artifacts and, if that failed before any
// latest name pointed at them, removes them.
func publishOrDelete(ctx context.Context, env *Env, job Job, d *config.Dataset, ext *Extraction, snapPath string,
	res *DatasetResult, writeManifest func(context.Context, *DatasetResult) error) error {
	err := Publish(ctx, env, job, d, ext, res.Artifacts, snapPath, res, writeManifest)
	if err != nil && !res.Success && !Linked(err) {
		DeleteArtifacts(ctx, env.Store, res.Artifacts)
	}
	return err
}
