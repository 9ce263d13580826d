package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/state"
	"github.com/countydatasync/countysync/internal/storage"
)

// JobIDLayout formats the time part of job ids and artifact names (UTC).
const JobIDLayout = "20060102_150405"

// Job identifies one run over some datasets.
type Job struct {
	// ID is "etl_<YYYYMMDD>_<HHMMSS>".
	ID string
	// Stamp is the "<YYYYMMDD>_<HHMMSS>" part, used in artifact names.
	Stamp string
	// Start is when the job started.
	Start time.Time
}

// NewJob returns the job for start time t.
func NewJob(t time.Time) Job {
	t = t.UTC()
	stamp := t.Format(JobIDLayout)
	return Job{ID: "etl_" + stamp, Stamp: stamp, Start: t}
}

// ParseJob rebuilds a job from its id.
func ParseJob(id string) (Job, error) {
	stamp, ok := strings.CutPrefix(id, "etl_")
	t, err := time.Parse(JobIDLayout, stamp)
	if !ok || err != nil {
		return Job{}, permanent(fmt.Errorf("bad job id %q (want etl_YYYYMMDD_HHMMSS)", id))
	}
	return Job{ID: id, Stamp: stamp, Start: t.UTC()}, nil
}

// maxClaimAttempts bounds how many seconds Start looks for a free job id.
const maxClaimAttempts = 10

// Start begins a job: it checks opts against the selected datasets, claims
// a job id and records the job (status queued) with its options, which
// every later step reads. A job id is claimed in two places, so that no
// two runs ever share one (artifact names are per second): the manifest
// is created exclusively in storage (runs of any kind on the same
// storage), and the job record in env.Jobs. If another run took this
// second's id, Start waits for the next second.
//
// Start is the distributed runner's (the job's steps run on workers); Run
// starts its jobs through start. Either then ends the manifests of recent
// jobs whose run stopped before it finished (see endAbandoned).
func Start(ctx context.Context, env *Env, opts Options) (Job, []*config.Dataset, error) {
	job, datasets, _, err := start(ctx, env, opts, false)
	return job, datasets, err
}

// start is Start for either runner. An embedded job (embedded true)
// holds its job lock (jobLockName) from before its manifest exists; the
// caller releases it with release when the job has ended.
func start(ctx context.Context, env *Env, opts Options, embedded bool) (job Job, datasets []*config.Dataset, release func(), err error) {
	job, datasets, release, err = claimFreeID(ctx, env, opts, embedded)
	if err == nil {
		endAbandoned(ctx, env, job)
	}
	return job, datasets, release, err
}

// claimFreeID checks opts, then claims the id of the first second no
// other run has taken.
func claimFreeID(ctx context.Context, env *Env, opts Options, embedded bool) (Job, []*config.Dataset, func(), error) {
	datasets, err := SelectDatasets(env.Config, opts.Datasets)
	if err != nil {
		return Job{}, nil, nil, usage(err)
	}
	if err := CheckOptions(datasets, opts); err != nil {
		return Job{}, nil, nil, usage(err)
	}
	for attempt := 0; attempt < maxClaimAttempts; attempt++ {
		job := NewJob(env.now())
		ok, release, err := claimJob(ctx, env, job, datasets, opts, embedded)
		if err != nil {
			return Job{}, nil, nil, fmt.Errorf("claim job id (the storage or the job records failed; no job started): %w", err)
		}
		if ok {
			return job, datasets, release, nil
		}
		wait := job.Start.Truncate(time.Second).Add(time.Second).Sub(env.now())
		select {
		case <-ctx.Done():
			return Job{}, nil, nil, ctx.Err()
		case <-time.After(max(wait, 50*time.Millisecond)):
		}
	}
	return Job{}, nil, nil, fmt.Errorf("claim job id: every id was taken for %d seconds", maxClaimAttempts)
}

// claimJob takes job's id in storage and in the job records; false means
// another run has it. An embedded job takes its job lock first, so that
// its manifest never says running without a live lock behind it.
func claimJob(ctx context.Context, env *Env, job Job, datasets []*config.Dataset, opts Options, embedded bool) (bool, func(), error) {
	release := func() {}
	runner := RunnerDistributed
	if embedded {
		runner = RunnerEmbedded
		l, err := env.State.Lock(ctx, jobLockName(job.ID), job.ID, 0)
		if errors.Is(err, state.ErrLocked) {
			return false, nil, nil // another run has this second's id
		}
		if err != nil {
			return false, nil, err
		}
		release = func() { _ = l.Release(context.WithoutCancel(ctx)) }
	}
	ok, err := claimJobID(ctx, env, job, datasets, opts, runner)
	if !ok {
		release()
		release = nil
	}
	return ok, release, err
}

// claimJobID claims job's id in storage, with a first manifest that says
// the job is running and which runner runs it, and in the job records.
func claimJobID(ctx context.Context, env *Env, job Job, datasets []*config.Dataset, opts Options, runner string) (bool, error) {
	rec := &JobRecord{JobID: job.ID, Stamp: job.Stamp, Start: job.Start, Options: opts,
		Manifest: env.Store.Location(ManifestKey(job.ID)), Status: StatusQueued}
	rec.Options.Datasets = nil
	for _, d := range datasets {
		rec.Datasets = append(rec.Datasets, d.Name)
	}
	placeholder := fmt.Appendf(nil, "{\"job_id\": %q, \"status\": %q, \"runner\": %q}\n", job.ID, StatusRunning, runner)
	if err := putExclusive(ctx, env.Store, ManifestKey(job.ID), placeholder); err != nil {
		if errors.Is(err, storage.ErrExists) {
			return false, nil
		}
		return false, err
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return false, err
	}
	created, err := env.Jobs.CreateJob(ctx, job.ID, data)
	if err != nil || !created {
		// The id is taken in the job records (or unknown): give the
		// manifest back.
		_ = env.Store.Delete(context.WithoutCancel(ctx), ManifestKey(job.ID))
	}
	return created, err
}
