package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/countydatasync/countysync/internal/state"
)

// Publish is a dataset's last step, due once the extraction and every
// format are recorded. It makes the run visible in an order that never
// loses data: it marks the fan-in as linking, points every latest name at
// the new files, writes the dataset's manifest
// (manifests/<job>/<dataset>.json), and only then advances the
// watermark with a compare-and-set on the watermark the run started from.
// Then it records the dataset's result, releases the dataset's lock and,
// if every dataset has a result, ends the job (final manifest, status).
//
// A failure before the watermark moves leaves the old watermark: the next
// run re-reads what this one read and merges it again, idempotently. A
// retried Publish that finds its own watermark or its own result succeeds;
// a failed read of the job records fails the step (to be retried) before
// anything moves.
func Publish(ctx context.Context, env *Env, job Job, dataset string) (err error) {
	defer recoverStep(env, job, dataset, "publish", &err)
	s, err := openStep(ctx, env, job, dataset)
	if err != nil {
		return err
	}
	done, err := results(ctx, env.Jobs, job.ID)
	if err != nil {
		return err
	}
	if done[dataset] == nil {
		if err := s.publish(ctx); err != nil {
			return err
		}
	}
	return finishJob(ctx, env, job.ID, false)
}

func (s *datasetStep) publish(ctx context.Context) error {
	env, d, job := s.env, s.d, s.job
	fan, err := readFanIn(ctx, env.Jobs, job.ID, d.Name, s.formats)
	if err != nil {
		return err
	}
	if !fan.complete {
		return permanent(fmt.Errorf("dataset %s: publish before every format was rendered (missing: %v)", d.Name, fan.pending(s.formats)))
	}
	lock, err := s.lock(ctx, 0)
	if err != nil {
		return err
	}
	published := false
	defer func() {
		if !published { // on success the lock was released below
			s.handOn(ctx, lock)
		}
	}()
	res := s.result(fan)
	if !fan.linking {
		if _, err := addFanIn(ctx, env.Jobs, job.ID, d.Name, map[string][]byte{linkingMember: []byte("{}")}, s.formats); err != nil {
			return err
		}
	}
	// Every file is written: move the latest names together (server-side
	// copies on S3 run in parallel), all or none.
	if err := s.linkAll(ctx, res.Artifacts); err != nil {
		return err
	}
	for _, a := range res.Artifacts {
		s.log.Info("exported", "format", a.Format, "path", a.Path, "rows", a.Rows)
	}
	res.Success = true
	// The dataset's own manifest: the job's is written when the job ends,
	// so datasets publishing at once never overwrite each other's entry.
	if err := putDatasetManifest(ctx, env, job.ID, res); err != nil {
		return fmt.Errorf("dataset %s: write manifest: %w", d.Name, err)
	}
	if d.Incremental != nil {
		wm := &state.Watermark{Cursor: *fan.ext.WatermarkAfter, JobID: job.ID, Snapshot: res.Snapshot, Rows: fan.ext.Records, UpdatedAt: env.now().UTC()}
		if err := advance(ctx, env, job, d.Name, fan.ext, wm); err != nil {
			return err
		}
	} else if !fan.ext.Streamed {
		// The snapshot was only the render steps' input.
		key := SnapshotKey(d.Name, job.ID)
		if err := deleteSnapshot(ctx, env, key); err != nil {
			s.log.Warn("could not delete the snapshot", "key", key, "error", err)
		}
	}
	prune(ctx, env, job, d, res.Artifacts)
	if err := putResult(ctx, env.Jobs, job.ID, res); err != nil {
		return err
	}
	published = true
	if err := env.State.Unlock(ctx, d.Name, job.ID); err != nil {
		s.log.Warn("release dataset lock", "error", err)
	}
	return nil
}

// result assembles the dataset's result from its fan-in: the extraction,
// the artifacts in the job's format order, the warnings and the timings.
func (s *datasetStep) result(fan *fanIn) *DatasetResult {
	res := resultOf(fan.ext)
	for _, f := range s.formats {
		r := fan.formats[f]
		res.Artifacts = append(res.Artifacts, r.Artifact)
		res.WarningCount += r.WarningCount
		res.Warnings = append(res.Warnings, r.Warnings...)
		res.ExportSeconds = max(res.ExportSeconds, r.Seconds)
	}
	if s.d.Incremental != nil {
		res.Snapshot = SnapshotKey(s.d.Name, s.job.ID)
	}
	if !fan.ext.Started.IsZero() {
		res.DurationSeconds = s.env.now().Sub(fan.ext.Started).Seconds()
	}
	return res
}

// advance moves the watermark to newWM by compare-and-set on the one the
// run started from, then deletes the snapshot the run merged into.
func advance(ctx context.Context, env *Env, job Job, dataset string, ext *Extraction, newWM *state.Watermark) error {
	if err := env.State.Set(ctx, dataset, ext.StateJob, newWM); err != nil {
		// A retried publish (a worker died after the watermark moved)
		// finds its own watermark: that is success, not a conflict.
		if cur, gerr := env.State.Get(ctx, dataset); !errors.Is(err, state.ErrConflict) || gerr != nil || cur == nil || cur.JobID != job.ID {
			return fmt.Errorf("dataset %s: advance watermark: %w", dataset, err)
		}
	}
	if ext.PrevSnapshot != "" && ext.PrevSnapshot != newWM.Snapshot {
		if err := env.Store.Delete(ctx, ext.PrevSnapshot); err != nil {
			env.Log.Warn("could not delete the previous snapshot", "dataset", dataset, "key", ext.PrevSnapshot, "error", err)
		}
	}
	return nil
}
