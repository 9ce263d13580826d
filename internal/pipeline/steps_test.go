package pipeline_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/demo"
	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/state"
	"github.com/countydatasync/countysync/internal/state/memory"
	redisstate "github.com/countydatasync/countysync/internal/state/redis"
	"github.com/countydatasync/countysync/internal/state/statetest"
	"github.com/countydatasync/countysync/internal/storage"
	"github.com/countydatasync/countysync/internal/testsvc"
)

// The step tests run against every implementation of the job records, the
// way river runs its driver suite against every driver: in process (the
// embedded runner's) and Redis (the workers').
func eachJobStore(t *testing.T, test func(t *testing.T, jobs func(t *testing.T) state.Jobs)) {
	t.Run("memory", func(t *testing.T) {
		test(t, func(*testing.T) state.Jobs { return memory.NewJobs() })
	})
	t.Run("redis", func(t *testing.T) {
		url := testsvc.Redis(t)
		test(t, func(t *testing.T) state.Jobs {
			st, err := redisstate.Open(context.Background(), url, testsvc.RedisPrefix(t, url, "steps"), testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st.Jobs()
		})
	})
}

// stepEnv is the demo county with the job records jobs and a clock that
// moves a second per reading (so job ids never wait for the wall clock).
func stepEnv(t *testing.T, jobs state.Jobs) *pipeline.Env {
	env, _ := demoEnv(t)
	env.Jobs = jobs
	fake := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu atomic.Int64
	env.Now = func() time.Time { return fake.Add(time.Duration(mu.Add(1)) * time.Second) }
	return env
}

// startJob starts a job of one dataset and runs its Extract and Render.
func startJob(t *testing.T, env *pipeline.Env, dataset string) pipeline.Job {
	t.Helper()
	ctx := context.Background()
	job, _, err := pipeline.Start(ctx, env, pipeline.Options{Datasets: []string{dataset}})
	if err != nil {
		t.Fatal(err)
	}
	next, err := pipeline.Extract(ctx, env, job, dataset)
	if err != nil {
		t.Fatal(err)
	}
	if len(next.Render) > 0 {
		if next, err = pipeline.Render(ctx, env, job, dataset, next.Render[0]); err != nil {
			t.Fatal(err)
		}
	}
	if !next.Publish {
		t.Fatalf("after extract and render: %+v, want publish due", next)
	}
	return job
}

func report(t *testing.T, env *pipeline.Env, id string) *pipeline.Report {
	t.Helper()
	rep, _, err := pipeline.ReadReport(context.Background(), env.Jobs, id)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// A publish retried after it succeeded (a worker died before acking)
// succeeds and changes nothing; a job that started from a watermark
// another run has moved since fails to publish, permanently.
func TestStepsPublishTwiceIsIdempotent(t *testing.T) {
	eachJobStore(t, func(t *testing.T, jobs func(*testing.T) state.Jobs) {
		env := stepEnv(t, jobs(t))
		ctx := context.Background()
		job := startJob(t, env, "parcels")
		for i := 0; i < 2; i++ {
			if err := pipeline.Publish(ctx, env, job, "parcels"); err != nil {
				t.Fatalf("publish %d: %v", i+1, err)
			}
		}
		wm, err := env.State.Get(ctx, "parcels")
		if err != nil || wm == nil || wm.JobID != job.ID {
			t.Fatalf("watermark after two publishes: %+v, %v", wm, err)
		}
		if rep := report(t, env, job.ID); !rep.Success || rep.Status != pipeline.StatusSucceeded || rep.Datasets[0].Records != demo.Parcels {
			t.Fatalf("report: %+v", rep)
		}

		stale := startJob(t, env, "parcels")
		other := &state.Watermark{Cursor: wm.Cursor, JobID: "etl_20990101_000000", Snapshot: wm.Snapshot, Rows: wm.Rows}
		if err := env.State.Set(ctx, "parcels", job.ID, other); err != nil {
			t.Fatal(err)
		}
		err = pipeline.Publish(ctx, env, stale, "parcels")
		if !errors.Is(err, state.ErrConflict) || !pipeline.IsPermanent(err) {
			t.Fatalf("publish over a moved watermark: %v; want a permanent conflict", err)
		}
	})
}

// A publish whose read of the job record fails stops before anything
// moves, with an error worth retrying; the retry publishes.
func TestStepsPublishStopsOnAFailedRecordRead(t *testing.T) {
	eachJobStore(t, func(t *testing.T, jobs func(*testing.T) state.Jobs) {
		flaky := &statetest.FlakyJobs{Jobs: jobs(t)}
		env := stepEnv(t, flaky)
		ctx := context.Background()
		job := startJob(t, env, "parcels")
		flaky.FailGet.Store(true)
		err := pipeline.Publish(ctx, env, job, "parcels")
		if !errors.Is(err, statetest.ErrInjected) || pipeline.IsPermanent(err) {
			t.Fatalf("publish with a failed record read: %v; want the read's error, to retry", err)
		}
		if wm, err := env.State.Get(ctx, "parcels"); err != nil || wm != nil {
			t.Fatalf("watermark moved: %+v, %v", wm, err)
		}
		if _, err := env.Store.Open(ctx, "parcels.csv"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("latest name exists after the failed publish: %v", err)
		}
		if err := pipeline.Publish(ctx, env, job, "parcels"); err != nil {
			t.Fatalf("retried publish: %v", err)
		}
		if wm, err := env.State.Get(ctx, "parcels"); err != nil || wm == nil || wm.JobID != job.ID {
			t.Fatalf("watermark after the retry: %+v, %v", wm, err)
		}
	})
}

// linkFailingStore fails every Link (the latest names cannot move);
// manifestFailingStore fails every manifest write (after the links).
type linkFailingStore struct{ storage.Store }

func (s linkFailingStore) Link(context.Context, string, string) error { return errInjected }

type manifestFailingStore struct{ storage.Store }

func (s manifestFailingStore) PutBytes(ctx context.Context, key string, data []byte) error {
	if strings.HasPrefix(key, "manifests/") {
		return errInjected
	}
	return s.Store.PutBytes(ctx, key, data)
}

// recordFailingJobs fails every PutArtifacts (the publish cannot record
// that it starts linking).
type recordFailingJobs struct{ state.Jobs }

func (j recordFailingJobs) PutArtifacts(context.Context, string, string, map[string][]byte) (map[string][]byte, error) {
	return nil, errInjected
}

// Fail after a publish that failed before it could move a latest name
// removes the run's files and snapshot; after one that may have moved
// some (a failed link, a failed manifest) it leaves them, since a latest
// name may point at them.
func TestStepsFailRemovesFilesOnlyBeforeLinking(t *testing.T) {
	eachJobStore(t, func(t *testing.T, jobs func(*testing.T) state.Jobs) {
		ctx := context.Background()
		for _, fault := range []string{"record", "link", "manifest"} {
			env := stepEnv(t, jobs(t))
			job := startJob(t, env, "parcels")
			store, records := env.Store, env.Jobs
			switch fault {
			case "record":
				env.Jobs = recordFailingJobs{records}
			case "link":
				env.Store = linkFailingStore{store}
			case "manifest":
				env.Store = manifestFailingStore{store}
			}
			err := pipeline.Publish(ctx, env, job, "parcels")
			if !errors.Is(err, errInjected) {
				t.Fatalf("%s fault: publish: %v", fault, err)
			}
			env.Jobs = records
			pipeline.Fail(ctx, env, job, "parcels", err)
			env.Store = store
			rep := report(t, env, job.ID)
			if rep.Success || rep.Status != pipeline.StatusFailed || !strings.Contains(rep.Error, errInjected.Error()) {
				t.Fatalf("%s fault: report %+v", fault, rep)
			}
			keys, err := store.List(ctx, "parcels_"+job.Stamp)
			if err != nil {
				t.Fatal(err)
			}
			_, snapErr := store.Open(ctx, pipeline.SnapshotKey("parcels", job.ID))
			if fault == "record" {
				if len(keys) != 0 || !errors.Is(snapErr, storage.ErrNotFound) {
					t.Errorf("before linking: files %v and snapshot (%v) left behind", keys, snapErr)
				}
			} else if len(keys) != 4 {
				t.Errorf("%s fault: files %v, want the 4 formats kept", fault, keys)
			}
			if fault == "manifest" {
				rc, err := store.Open(ctx, "parcels.csv")
				if err != nil {
					t.Fatalf("latest name after a failed manifest: %v", err)
				}
				data, _ := io.ReadAll(rc)
				rc.Close()
				if len(data) == 0 {
					t.Error("latest name points at an empty file")
				}
			}
			// The dataset's lock went with the failure: the next run takes it.
			l, err := env.State.Lock(ctx, "parcels", "next-run", 0)
			if err != nil {
				t.Fatalf("%s fault: lock after Fail: %v", fault, err)
			}
			l.Release(ctx)
		}
	})
}

// Steps of a job whose record is gone (orphaned tasks) fail permanently;
// steps left over for a dataset that has finished do nothing. Neither
// takes a lock.
func TestStepsOrphansFailFast(t *testing.T) {
	eachJobStore(t, func(t *testing.T, jobs func(*testing.T) state.Jobs) {
		env := stepEnv(t, jobs(t))
		ctx := context.Background()
		ghost := pipeline.NewJob(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
		_, err := pipeline.Extract(ctx, env, ghost, "parcels")
		if !errors.Is(err, state.ErrJobNotFound) || !pipeline.IsPermanent(err) {
			t.Fatalf("extract of a job with no record: %v", err)
		}
		job := startJob(t, env, "permits")
		if err := pipeline.Publish(ctx, env, job, "permits"); err != nil {
			t.Fatal(err)
		}
		if next, err := pipeline.Extract(ctx, env, job, "permits"); err != nil || next.Publish || len(next.Render) > 0 {
			t.Fatalf("extract of a finished dataset: %+v, %v; want nothing to do", next, err)
		}
		if next, err := pipeline.Render(ctx, env, job, "permits", "csv"); err != nil || next.Publish || len(next.Render) > 0 {
			t.Fatalf("render of a finished dataset: %+v, %v; want nothing to do", next, err)
		}
		// Neither took the lock: another run gets it at once.
		l, err := env.State.Lock(ctx, "permits", "next-run", 0)
		if err != nil {
			t.Fatalf("lock after the orphans: %v", err)
		}
		l.Release(ctx)
	})
}
