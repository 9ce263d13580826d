package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/countydatasync/countysync/internal/state"
)

// Runners, as a job's first manifest names them ("runner"): whoever later
// finds the manifest still "running" tells from it how to learn whether
// the job still runs.
const (
	// RunnerEmbedded: the job runs in one process (Run), which holds the
	// job's lock (jobLockName) in the state store for its whole life.
	RunnerEmbedded = "embedded"
	// RunnerDistributed: the job's steps run on workers; its record in
	// the shared job records says whether it ended.
	RunnerDistributed = "distributed"
)

// jobLockName is the state-store lock an embedded run holds while it
// runs: the lock's owner is alive exactly as long as the run (a flock the
// kernel drops when the process dies, or a Redis lease its process
// renews).
func jobLockName(id string) string { return "job:" + id }

// abandonedChecked bounds how many of the newest jobs' manifests a
// starting job looks at: a run that was killed is found by the next one.
const abandonedChecked = 32

// legacyAbandonedAfter is how old a "running" manifest written before
// manifests named their runner must be before a starting job takes it
// for abandoned (when the job records know no running job of that id).
const legacyAbandonedAfter = 24 * time.Hour

// abandonedError is the error of a job whose run stopped before it ended.
const abandonedError = "the run that wrote this manifest stopped before it finished (killed, or its machine went down); datasets not listed did not publish"

// endAbandoned ends, as failed, the manifests of recent jobs that still
// say "running" although their run is gone, so that readers of the
// manifests and `countysync verify` do not take them for running jobs
// for ever. Whether a run is gone is decided only on evidence:
//
//   - an embedded run's lock (jobLockName) can be taken: its process
//     died (runs that share storage share the state store, as the
//     dataset locks already require);
//   - a distributed job is left alone: its record in the job records
//     ends it;
//   - a manifest written before manifests named their runner is ended
//     once it is legacyAbandonedAfter old and env.Jobs has no record of
//     the job that has not ended.
//
// The dataset manifests the job did write are kept in the new job
// manifest. Failures are logged, never returned: this is housekeeping.
func endAbandoned(ctx context.Context, env *Env, self Job) {
	now := env.now().UTC()
	var ids []string
	for _, month := range []time.Time{now, now.AddDate(0, -1, 0)} {
		keys, err := env.Store.List(ctx, manifestsDir+"etl_"+month.Format("200601"))
		if err != nil {
			env.Log.Warn("look for manifests of stopped runs", "error", err)
			return
		}
		for _, k := range keys {
			if id, dataset, ok := ParseManifestKey(k); ok && dataset == "" && id != self.ID {
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	slices.Reverse(ids)
	for _, id := range ids[:min(len(ids), abandonedChecked)] {
		if err := endIfAbandoned(ctx, env, self, id, now); err != nil {
			env.Log.Warn("end the manifest of a stopped run", "job_id", id, "error", err)
		}
	}
}

// endIfAbandoned ends job id's manifest if it says running and its run is
// gone (see endAbandoned).
func endIfAbandoned(ctx context.Context, env *Env, self Job, id string, now time.Time) error {
	m, err := ReadManifest(ctx, env.Store, ManifestKey(id))
	if err != nil || m.Status != StatusRunning {
		return err
	}
	job, err := ParseJob(id)
	if err != nil {
		return err
	}
	switch m.Runner {
	case RunnerEmbedded:
		l, err := env.State.Lock(ctx, jobLockName(id), self.ID, 0)
		if errors.Is(err, state.ErrLocked) {
			return nil // the run is alive
		}
		if err != nil {
			return err
		}
		defer l.Release(context.WithoutCancel(ctx))
	case "":
		if now.Sub(job.Start) < legacyAbandonedAfter {
			return nil
		}
		rec, err := LoadJob(ctx, env.Jobs, id)
		switch {
		case errors.Is(err, state.ErrJobNotFound):
		case err != nil:
			return err
		case !rec.Ended():
			return nil // a record that has not ended: running
		}
	default:
		return nil
	}
	keys := JobManifestKeys{JobID: id, Job: ManifestKey(id)}
	all, err := env.Store.List(ctx, manifestsDir+id+"/")
	if err != nil {
		return err
	}
	for _, k := range all {
		if kid, dataset, ok := ParseManifestKey(k); ok && kid == id && dataset != "" {
			keys.Datasets = append(keys.Datasets, k)
		}
	}
	merged, err := keys.Read(ctx, env.Store, env.Log, "", false)
	if err != nil {
		return err
	}
	rep := &Report{JobID: id, Start: job.Start, End: now, Status: StatusFailed,
		Error:    fmt.Sprintf("%s (found by job %s)", abandonedError, self.ID),
		Manifest: env.Store.Location(ManifestKey(id))}
	for _, name := range sortedKeys(merged.Datasets) {
		res := *merged.Datasets[name]
		res.Name = name
		rep.Datasets = append(rep.Datasets, &res)
	}
	// Read again just before writing: the run may have ended meanwhile
	// (a legacy run, which holds no lock).
	if m, err := ReadManifest(ctx, env.Store, ManifestKey(id)); err != nil || m.Status != StatusRunning {
		return err
	}
	if err := PutManifest(ctx, env, rep); err != nil {
		return err
	}
	env.Log.Warn("ended the manifest of a run that stopped before it finished", "job_id", id,
		"published", strings.Join(sortedKeys(merged.Datasets), ","))
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
