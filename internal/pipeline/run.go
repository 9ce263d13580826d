package pipeline

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/format"
)

// snapshotsKept is how many snapshots a process's cache keeps.
const snapshotsKept = 8

// Run executes a job in this process (the embedded runner): it starts the
// job, then takes every selected dataset, one after the other, through
// the same steps the queue's workers run (Extract, Render, Publish; Fail
// at the first error), and returns the job's report. The error is non-nil
// only when the job could not start.
func Run(ctx context.Context, env *Env, opts Options) (*Report, error) {
	job, datasets, release, err := start(ctx, env, opts, true)
	if err != nil {
		return nil, err
	}
	defer release()
	if env.Snapshots == nil {
		e := *env
		e.Snapshots = NewSnapshotCache(filepath.Join(env.Store.WorkDir(), "snapshots-"+job.ID), snapshotsKept)
		defer e.Snapshots.RemoveAll()
		env = &e
	}
	names := make([]string, len(datasets))
	for i, d := range datasets {
		names[i] = d.Name
	}
	env.Log.Info("starting job", "job_id", job.ID, "datasets", strings.Join(names, ","))
	for _, name := range names {
		env.Progress.Start(name)
		if err := runDataset(ctx, env, job, name); err != nil {
			Fail(ctx, env, job, name, err)
		}
		env.Progress.Stop()
	}
	rep, _, err := ReadReport(context.WithoutCancel(ctx), env.Jobs, job.ID)
	return rep, err
}

// runDataset takes one dataset through its steps.
func runDataset(ctx context.Context, env *Env, job Job, dataset string) error {
	next, err := Extract(ctx, env, job, dataset)
	if err != nil {
		return err
	}
	if len(next.Render) > 0 {
		if next, err = Render(ctx, env, job, dataset, next.Render[0]); err != nil {
			return err
		}
	}
	if !next.Publish {
		return fmt.Errorf("dataset %s: formats left unrendered: %s", dataset, strings.Join(next.Render, ", "))
	}
	return Publish(ctx, env, job, dataset)
}

// SelectDatasets returns the datasets named (all when names is empty), or an
// error naming the unknown ones.
func SelectDatasets(cfg *config.Config, names []string) ([]*config.Dataset, error) {
	if len(names) == 0 {
		return cfg.Datasets, nil
	}
	var out []*config.Dataset
	var unknown []string
	for _, n := range names {
		d := cfg.Dataset(n)
		if d == nil {
			unknown = append(unknown, n)
			continue
		}
		out = append(out, d)
	}
	if len(unknown) > 0 {
		var known []string
		for _, d := range cfg.Datasets {
			known = append(known, d.Name)
		}
		return nil, fmt.Errorf("unknown dataset %s (the config has: %s)", strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	return out, nil
}

// CheckOptions refuses options that cannot apply to the selected datasets,
// before a job starts.
func CheckOptions(datasets []*config.Dataset, opts Options) error {
	if opts.Full && opts.Incremental {
		return errors.New("--full and --incremental exclude each other")
	}
	for i, f := range opts.Formats {
		if _, ok := format.Lookup(f); !ok {
			return fmt.Errorf("unknown format %q (known: %s)", f, strings.Join(format.Names(), ", "))
		}
		// Two writers of one format would share its file name, and the
		// job would wait for ever for the format they count once.
		if slices.Contains(opts.Formats[:i], f) {
			return fmt.Errorf("--formats lists %s twice", f)
		}
	}
	for _, d := range datasets {
		if opts.Incremental && d.Incremental == nil {
			return fmt.Errorf("--incremental: dataset %s has no incremental: section (run it without --incremental, or leave it out with --dataset)", d.Name)
		}
		if len(FormatsFor(d, opts)) == 0 {
			return fmt.Errorf("--formats %s: nothing to write for dataset %s (geojson and gpkg need a geometry: column)", strings.Join(opts.Formats, ","), d.Name)
		}
	}
	return nil
}
