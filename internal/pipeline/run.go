package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/format"
)

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

// Run executes a job in this process: every selected dataset, one after
// the other, through extract, export and publish. It returns the report;
// the error is non-nil only when the job could not start.
func Run(ctx context.Context, env *Env, opts Options) (*Report, error) {
	datasets, err := SelectDatasets(env.Config, opts.Datasets)
	if err != nil {
		return nil, err
	}
	if err := CheckOptions(datasets, opts); err != nil {
		return nil, err
	}
	job, err := ClaimJob(ctx, env.Store, env.now)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(datasets))
	for i, d := range datasets {
		names[i] = d.Name
	}
	env.Log.Info("starting job", "job_id", job.ID, "datasets", strings.Join(names, ","))
	report := &Report{JobID: job.ID, Start: job.Start, Status: "running", Manifest: env.Store.Location(ManifestKey(job.ID))}
	var mu sync.Mutex
	writeManifest := func(ctx context.Context, res *DatasetResult) error {
		mu.Lock()
		defer mu.Unlock()
		partial := *report
		partial.Datasets = append(append([]*DatasetResult(nil), report.Datasets...), res)
		return PutManifest(ctx, env, &partial)
	}
	for _, d := range datasets {
		env.Progress.Start(d.Name)
		res := runDataset(ctx, env, job, d, opts, writeManifest)
		env.Progress.Stop()
		mu.Lock()
		report.Datasets = append(report.Datasets, res)
		mu.Unlock()
	}
	report.End = env.now()
	report.Success = true
	var errs []string
	for _, d := range report.Datasets {
		if !d.Success {
			report.Success = false
			errs = append(errs, d.Error)
		}
	}
	report.Error = strings.Join(errs, "; ")
	report.Status = "succeeded"
	if !report.Success {
		report.Status = "failed"
	}
	if err := PutManifest(context.WithoutCancel(ctx), env, report); err != nil {
		report.Success = false
		report.Status = "failed"
		report.Error = strings.TrimPrefix(report.Error+"; write manifest: "+err.Error(), "; ")
	}
	env.Log.Info("job finished", "job_id", job.ID, "success", report.Success,
		"records", report.RecordsProcessed(), "seconds", roundSeconds(report.End.Sub(report.Start).Seconds()))
	return report, nil
}

// CheckOptions refuses options that cannot apply to the selected datasets,
// before a job starts.
func CheckOptions(datasets []*config.Dataset, opts Options) error {
	if opts.Full && opts.Incremental {
		return errors.New("--full and --incremental exclude each other")
	}
	for _, f := range opts.Formats {
		if _, ok := format.Lookup(f); !ok {
			return fmt.Errorf("unknown format %q (known: %s)", f, strings.Join(format.Names(), ", "))
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

// PutManifest writes the report as the job's manifest.
func PutManifest(ctx context.Context, env *Env, r *Report) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return env.Store.PutBytes(ctx, ManifestKey(r.JobID), append(data, '\n'))
}
