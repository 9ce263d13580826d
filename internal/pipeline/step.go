package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/state"
)

// The steps of a job, each for one dataset, are Extract, Render and
// Publish, and Fail when one of them gives up. Both runners call them:
// the embedded runner one after the other in this process (run.go), the
// queue's workers one task each. A step reads what it needs from the job
// records (env.Jobs) and records what it did there, so it can run in any
// process, again after a crash, or twice at once: a step that finds its
// work recorded does nothing more. What a step made due comes back as Next.

// Next says which steps a dataset's step made due.
type Next struct {
	// Render lists the formats no step has rendered yet. After Extract
	// each needs a Render step (the embedded runner makes one call; the
	// queue one task per format, the first of which claims the others).
	Render []string
	// Publish is true once the extraction and every format are recorded.
	Publish bool
}

// datasetStep is what every step of one dataset in one job starts from:
// the job's record and the dataset with the formats the job renders.
type datasetStep struct {
	env     *Env
	job     Job
	rec     *JobRecord
	d       *config.Dataset
	opts    Options
	formats []string
	log     *slog.Logger
}

// openStep loads job's record and finds dataset in it and in the config.
// A job whose record is gone, a dataset the job or the config does not
// have, and options the dataset cannot take are permanent failures.
func openStep(ctx context.Context, env *Env, job Job, dataset string) (*datasetStep, error) {
	rec, err := LoadJob(ctx, env.Jobs, job.ID)
	if errors.Is(err, state.ErrJobNotFound) {
		return nil, permanent(fmt.Errorf("dataset %s: %w (an orphaned task: its job record expired or was deleted)", dataset, err))
	}
	if err != nil {
		return nil, err
	}
	if !slices.Contains(rec.Datasets, dataset) {
		return nil, permanent(fmt.Errorf("job %s has no dataset %s (it has: %s)", job.ID, dataset, strings.Join(rec.Datasets, ", ")))
	}
	d := env.Config.Dataset(dataset)
	if d == nil {
		// Not permanent: during a config rollout another worker (or this
		// one, restarted) may know the dataset. Once the retries are spent
		// the dataset fails with this message.
		return nil, fmt.Errorf("dataset %s is not in this worker's config (%s): deploy the config that has it to every worker", dataset, env.Config.Path)
	}
	s := &datasetStep{env: env, job: job, rec: rec, d: d, opts: rec.Options,
		log: env.Log.With("job_id", job.ID, "dataset", dataset)}
	if s.opts.Incremental && d.Incremental == nil {
		return nil, permanent(fmt.Errorf("dataset %s: --incremental given but the dataset has no incremental: section", d.Name))
	}
	if s.formats = FormatsFor(d, s.opts); len(s.formats) == 0 {
		return nil, permanent(fmt.Errorf("dataset %s: no formats to write", d.Name))
	}
	return s, nil
}

// finished reports whether the dataset has a result in the job (it was
// published, or failed): then a step left over from it (a sibling render
// of a failed dataset, a duplicate) has nothing to do and takes no lock.
// A job that ended without the dataset's result cannot be, and is refused.
func (s *datasetStep) finished(ctx context.Context) (bool, error) {
	done, err := results(ctx, s.env.Jobs, s.job.ID)
	if err != nil {
		return false, err
	}
	if r := done[s.d.Name]; r != nil {
		s.log.Info("nothing to do: the dataset has finished in this job", "success", r.Success)
		return true, nil
	}
	if s.rec.Ended() {
		return false, permanent(fmt.Errorf("dataset %s: job %s has already ended (%s)", s.d.Name, s.job.ID, s.rec.Status))
	}
	return false, nil
}

// next returns what the dataset's fan-in makes due.
func (s *datasetStep) next(f *fanIn) Next {
	if f.complete {
		return Next{Publish: true}
	}
	if f.ext == nil {
		return Next{}
	}
	return Next{Render: f.pending(s.formats)}
}

// tempSnapshotPath returns a private path in the store's work folder for
// a local copy of the dataset's snapshot.
func (s *datasetStep) tempSnapshotPath() string {
	return filepath.Join(s.env.Store.WorkDir(), fmt.Sprintf("%s-%s-%d.snapshot.sqlite", s.job.ID, s.d.Name, time.Now().UnixNano()))
}

// lock takes the dataset's lock for the job, waiting up to wait. It is
// re-entrant: the steps after Extract find the lock Extract kept.
func (s *datasetStep) lock(ctx context.Context, wait time.Duration) (state.Lock, error) {
	return s.env.State.Lock(ctx, s.d.Name, s.job.ID, wait)
}

// handOn ends this step's use of the dataset's lock: it keeps the lock for
// the job's next step, unless the dataset has a result by now (another
// step, or a runner that found its task lost, failed it, and Fail released
// the lock, which this step may have taken again since): then it releases
// it, so that no lock outlives its dataset's run.
func (s *datasetStep) handOn(ctx context.Context, lock state.Lock) {
	ctx = context.WithoutCancel(ctx)
	done, err := results(ctx, s.env.Jobs, s.job.ID)
	if err == nil && done[s.d.Name] != nil {
		s.log.Info("the dataset finished while this step ran: releasing its lock")
		if err := lock.Release(ctx); err != nil && !errors.Is(err, state.ErrLocked) {
			s.log.Warn("release dataset lock", "error", err)
		}
		return
	}
	lock.Keep()
}

// lockUnlessFinished takes the dataset's lock (see lock) and then checks
// again that the dataset has no result: one recorded between finished and
// the lock (its Fail released the lock before this step took it) means
// there is nothing to do, and the lock is released again (nil lock).
func (s *datasetStep) lockUnlessFinished(ctx context.Context, wait time.Duration) (state.Lock, error) {
	lock, err := s.lock(ctx, wait)
	if err != nil {
		return nil, err
	}
	done, err := s.finished(ctx)
	if err != nil || done {
		if rerr := lock.Release(context.WithoutCancel(ctx)); rerr != nil && !errors.Is(rerr, state.ErrLocked) {
			s.log.Warn("release dataset lock", "error", rerr)
		}
		return nil, err
	}
	return lock, nil
}
