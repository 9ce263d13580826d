package pipeline

import (
	"context"
	"errors"

	"github.com/countydatasync/countysync/internal/state"
)

// Fail ends a dataset whose step gave up (the embedded runner at the first
// error, a worker once the task will not be retried). Unless Publish began
// moving latest names to them, the files and the snapshot the job wrote
// for the dataset are removed; the dataset's result records the cause;
// the job's lock on the dataset is released; and if every dataset has a
// result the job ends. Fail of a dataset that has a result only ends the
// job (its publish succeeded and the job's end failed). Fail of a job
// whose record is gone (an orphaned task) only releases the lock.
func Fail(ctx context.Context, env *Env, job Job, dataset string, cause error) {
	ctx = context.WithoutCancel(ctx)
	log := env.Log.With("job_id", job.ID, "dataset", dataset)
	if _, err := LoadJob(ctx, env.Jobs, job.ID); err != nil {
		if errors.Is(err, state.ErrJobNotFound) {
			log.Warn("task of a job with no record failed; releasing its lock", "error", cause)
			releaseLock(ctx, env, job, dataset)
			return
		}
		log.Error("cannot record the failure", "error", err, "cause", cause)
		return
	}
	done, err := results(ctx, env.Jobs, job.ID)
	if err != nil {
		log.Error("cannot record the failure", "error", err, "cause", cause)
		return
	}
	if done[dataset] == nil {
		failDataset(ctx, env, job, dataset, cause)
	}
	if err := finishJob(ctx, env, job.ID, true); err != nil {
		log.Error("finish job", "error", err)
	}
}

func failDataset(ctx context.Context, env *Env, job Job, dataset string, cause error) {
	log := env.Log.With("job_id", job.ID, "dataset", dataset)
	res := &DatasetResult{Name: dataset, Mode: ModeFull}
	fan, err := readFanIn(ctx, env.Jobs, job.ID, dataset, nil)
	switch {
	case err != nil:
		log.Warn("cannot read what the dataset's steps recorded: its new files may be left behind", "error", err)
	case fan.linking:
		// Publish may have pointed latest names at the files, or moved the
		// watermark to the snapshot: they stay.
	default:
		for _, r := range fan.formats {
			_ = env.Store.Delete(ctx, r.Artifact.Key)
		}
		_ = deleteSnapshot(ctx, env, SnapshotKey(dataset, job.ID))
	}
	if err == nil && fan.ext != nil {
		res = resultOf(fan.ext)
	}
	res.Error = cause.Error()
	if errors.Is(cause, context.Canceled) {
		log.Warn("dataset cancelled")
	} else {
		log.Error("dataset failed", "error", cause)
	}
	if err := putResult(ctx, env.Jobs, job.ID, res); err != nil {
		log.Error("record failure", "error", err)
	}
	releaseLock(ctx, env, job, dataset)
}

// releaseLock ends the job's lock on the dataset (another run's is left).
func releaseLock(ctx context.Context, env *Env, job Job, dataset string) {
	if err := env.State.Unlock(ctx, dataset, job.ID); err != nil && !errors.Is(err, state.ErrLocked) {
		env.Log.Warn("release dataset lock", "job_id", job.ID, "dataset", dataset, "error", err)
	}
}

// deleteSnapshot removes a job's snapshot from storage and from this
// process's cache.
func deleteSnapshot(ctx context.Context, env *Env, key string) error {
	if env.Snapshots != nil {
		env.Snapshots.drop(key)
	}
	return env.Store.Delete(ctx, key)
}
