package pipeline_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/state"
	"github.com/countydatasync/countysync/internal/state/memory"
	redisstate "github.com/countydatasync/countysync/internal/state/redis"
	"github.com/countydatasync/countysync/internal/testsvc"
)

// eachLockStore runs test with the demo county's env on both lock stores:
// the state file (flock) with in-process job records, and Redis (leased
// keys) with the job records in Redis.
func eachLockStore(t *testing.T, test func(t *testing.T, env *pipeline.Env)) {
	t.Run("file", func(t *testing.T) { test(t, stepEnv(t, memory.NewJobs())) })
	t.Run("redis", func(t *testing.T) {
		url := testsvc.Redis(t)
		st, err := redisstate.Open(context.Background(), url, testsvc.RedisPrefix(t, url, "locks"), testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		env := stepEnv(t, st.Jobs())
		env.State.Close()
		env.State = st
		test(t, env)
	})
}

// failFirst runs fail once, before the first call it guards: another
// process failing the dataset at that moment.
type failFirst struct {
	once sync.Once
	fail func()
}

// failBeforeLock fails the dataset just before a step takes its lock.
type failBeforeLock struct {
	state.Store
	dataset string
	f       *failFirst
}

func (s failBeforeLock) Lock(ctx context.Context, name, owner string, wait time.Duration) (state.Lock, error) {
	if name == s.dataset {
		s.f.once.Do(s.f.fail)
	}
	return s.Store.Lock(ctx, name, owner, wait)
}

// failBeforeRecord fails the dataset just before a step records its work.
type failBeforeRecord struct {
	state.Jobs
	f *failFirst
}

func (j failBeforeRecord) PutArtifacts(ctx context.Context, id, dataset string, docs map[string][]byte) (map[string][]byte, error) {
	j.f.once.Do(j.f.fail)
	return j.Jobs.PutArtifacts(ctx, id, dataset, docs)
}

// The dataset's lock ends with the dataset's run in the job: Fail
// releases it, and a step that took or kept it while another process
// failed the dataset (just before the step's lock, or while the step
// worked) releases it too instead of keeping it for a next step that will
// not come. Each time another owner gets the lock at once, and the report
// says the dataset failed with the injected cause.
func TestStepsLocksEndWithTheDataset(t *testing.T) {
	eachLockStore(t, func(t *testing.T, env *pipeline.Env) {
		ctx := context.Background()
		free := func(when string) {
			t.Helper()
			l, err := env.State.Lock(ctx, "parcels", "next-job", 0)
			if err != nil {
				t.Fatalf("%s: the lock is not free: %v", when, err)
			}
			if err := l.Release(ctx); err != nil {
				t.Fatal(err)
			}
		}
		failedWith := func(job pipeline.Job, when string) {
			t.Helper()
			rep := report(t, env, job.ID)
			if rep.Status != pipeline.StatusFailed || !strings.Contains(rep.Datasets[0].Error, errInjected.Error()) {
				t.Fatalf("%s: status %s, dataset %+v", when, rep.Status, rep.Datasets[0])
			}
		}
		start := func() pipeline.Job {
			job, _, err := pipeline.Start(ctx, env, pipeline.Options{Datasets: []string{"parcels"}})
			if err != nil {
				t.Fatal(err)
			}
			return job
		}
		failer := func(job pipeline.Job) *failFirst {
			base := *env
			return &failFirst{fail: func() { pipeline.Fail(ctx, &base, job, "parcels", errInjected) }}
		}

		// Extract keeps the lock for the next step; Fail releases it.
		job := start()
		next, err := pipeline.Extract(ctx, env, job, "parcels")
		if err != nil || len(next.Render) == 0 {
			t.Fatalf("extract: %+v, %v", next, err)
		}
		if _, err := env.State.Lock(ctx, "parcels", "next-job", 0); !errors.Is(err, state.ErrLocked) {
			t.Fatalf("between extract and render another owner got the lock: %v", err)
		}
		pipeline.Fail(ctx, env, job, "parcels", errInjected)
		free("after Fail")
		failedWith(job, "after Fail")

		// Failed just before Extract takes the lock.
		job = start()
		e := *env
		e.State = failBeforeLock{Store: env.State, dataset: "parcels", f: failer(job)}
		if next, err := pipeline.Extract(ctx, &e, job, "parcels"); err != nil || len(next.Render) > 0 || next.Publish {
			t.Fatalf("extract of a dataset failed before its lock: %+v, %v; want nothing to do", next, err)
		}
		free("after a failure before extract's lock")
		failedWith(job, "failure before extract's lock")

		// Failed while Extract works.
		job = start()
		e = *env
		e.Jobs = failBeforeRecord{Jobs: env.Jobs, f: failer(job)}
		if _, err := pipeline.Extract(ctx, &e, job, "parcels"); err != nil {
			t.Fatalf("extract: %v", err)
		}
		free("after a failure while extract worked")
		failedWith(job, "failure while extract worked")

		// Failed just before Render takes the lock Extract kept.
		job = start()
		if next, err = pipeline.Extract(ctx, env, job, "parcels"); err != nil {
			t.Fatal(err)
		}
		e = *env
		e.State = failBeforeLock{Store: env.State, dataset: "parcels", f: failer(job)}
		if n, err := pipeline.Render(ctx, &e, job, "parcels", next.Render[0]); err != nil || n.Publish {
			t.Fatalf("render of a dataset failed before its lock: %+v, %v", n, err)
		}
		free("after a failure before render's lock")
		failedWith(job, "failure before render's lock")
	})
}
