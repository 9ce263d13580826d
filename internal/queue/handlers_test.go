package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/demo"
	"github.com/countydatasync/countysync/internal/open"
	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/source"
	"github.com/countydatasync/countysync/internal/state"
	"github.com/countydatasync/countysync/internal/state/statetest"
	"github.com/countydatasync/countysync/internal/storage"
	v1 "github.com/countydatasync/countysync/proto/countysync/v1"
)

// These tests run the worker's handlers on the demo county with the
// in-process edges (SQLite source, local storage, state file, job records
// in memory): no service is needed.

var errInjected = errors.New("injected fault")

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// demoEnv writes the demo county (plus extra config text) into a
// temporary directory and opens it.
func demoEnv(t *testing.T, extra string) *pipeline.Env {
	t.Helper()
	dir := t.TempDir()
	cfgPath, err := demo.Write(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if extra != "" {
		text, err := os.ReadFile(cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cfgPath, append(text, extra...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	env, closeEnv, err := open.Env(context.Background(), cfg, testLogger(t), open.Options{Source: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeEnv)
	return env
}

// runJob enqueues a job of the demo datasets and runs its tasks.
func runJob(t *testing.T, q *fakeQueue, opts pipeline.Options) *pipeline.Report {
	t.Helper()
	ctx := context.Background()
	id, err := Enqueue(ctx, q.h.Env, q, opts)
	if err != nil {
		t.Fatal(err)
	}
	q.drain(ctx)
	rep, done, err := pipeline.ReadReport(ctx, q.h.Env.Jobs, id)
	if err != nil || !done {
		t.Fatalf("job %s: done %v, %v", id, done, err)
	}
	return rep
}

func readObject(t *testing.T, store storage.Store, key string) []byte {
	t.Helper()
	rc, err := store.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("open %s: %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// The tasks of a job publish the same files as the embedded runner on the
// same data: an incremental dataset goes extract → one export per format
// (the first renders them all) → publish; a full one streams in its
// extract task and goes straight to publish.
func TestHandlersRunAJobLikeTheEmbeddedRunner(t *testing.T) {
	env := demoEnv(t, "")
	q := newFakeQueue(t, &Handlers{Env: env})
	rep := runJob(t, q, pipeline.Options{})
	if !rep.Success || rep.Status != pipeline.StatusSucceeded {
		t.Fatalf("report: %+v", rep)
	}
	want := []string{"export", "export", "export", "export", "extract", "extract", "publish", "publish"}
	got := slices.Clone(q.ran)
	slices.Sort(got)
	if !slices.Equal(got, want) || len(q.failures) != 0 {
		t.Fatalf("tasks %v (failures %v), want %v", q.ran, q.failures, want)
	}

	embedded := demoEnv(t, "")
	erep, err := pipeline.Run(context.Background(), embedded, pipeline.Options{})
	if err != nil || !erep.Success {
		t.Fatalf("embedded run: %v %+v", err, erep)
	}
	for i, d := range rep.Datasets {
		e := erep.Datasets[i]
		if d.Name != e.Name || d.Mode != e.Mode || d.Records != e.Records || d.RowsRead != e.RowsRead || len(d.Artifacts) != len(e.Artifacts) {
			t.Errorf("dataset %s: distributed %+v, embedded %+v", d.Name, d, e)
			continue
		}
		for j, a := range d.Artifacts {
			b := e.Artifacts[j]
			if a.Format != b.Format || a.Rows != b.Rows {
				t.Errorf("%s %s: %d rows, embedded %s %d rows", d.Name, a.Format, a.Rows, b.Format, b.Rows)
			}
			if a.Format == "csv" || a.Format == "geojson" || a.Format == "json" {
				if x, y := readObject(t, env.Store, a.Latest), readObject(t, embedded.Store, b.Latest); !bytes.Equal(x, y) {
					t.Errorf("%s: distributed and embedded files differ (%d and %d bytes)", a.Latest, len(x), len(y))
				}
			}
		}
	}
}

// Every task delivered twice (asynq's at-least-once delivery after a
// crash) publishes each dataset once, with the same files.
func TestHandlersDuplicateDeliveries(t *testing.T) {
	env := demoEnv(t, "")
	q := newFakeQueue(t, &Handlers{Env: env})
	q.duplicate = true
	rep := runJob(t, q, pipeline.Options{})
	if !rep.Success || len(q.failures) != 0 {
		t.Fatalf("report %+v, failures %v", rep, q.failures)
	}
	keys, err := env.Store.List(context.Background(), "parcels_")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 4 {
		t.Fatalf("parcels files %v, want one per format", keys)
	}
	for _, a := range rep.Datasets[0].Artifacts {
		if a.Rows != demo.Parcels {
			t.Errorf("%s: %d rows", a.Format, a.Rows)
		}
	}
}

// A publish task whose read of the job record fails is retried (not
// archived) and moved nothing on its failed attempt; its retry publishes.
func TestHandlersPublishRetriedOnAFailedRecordRead(t *testing.T) {
	env := demoEnv(t, "")
	flaky := &statetest.FlakyJobs{Jobs: env.Jobs}
	env.Jobs = flaky
	q := newFakeQueue(t, &Handlers{Env: env})
	armed := false
	q.before = func(task *asynq.Task) {
		if task.Type() == TypePublish && !armed {
			armed = true
			flaky.FailGet.Store(true)
		}
	}
	checked := false
	q.after = func(task *asynq.Task, err error) {
		if task.Type() != TypePublish || err == nil {
			return
		}
		checked = true
		if errors.Is(err, asynq.SkipRetry) || !errors.Is(err, statetest.ErrInjected) {
			t.Errorf("publish error %v: want the read's error, retried", err)
		}
		var p v1.PublishTask
		_ = decodePayload(task, &p)
		if wm, err := env.State.Get(context.Background(), p.GetDataset()); err != nil || wm != nil {
			t.Errorf("watermark of %s moved by the failed publish: %+v, %v", p.GetDataset(), wm, err)
		}
		if _, err := env.Store.Open(context.Background(), p.GetDataset()+".csv"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("latest name of %s moved by the failed publish: %v", p.GetDataset(), err)
		}
	}
	rep := runJob(t, q, pipeline.Options{})
	if !checked || !rep.Success || len(q.archived) != 0 {
		t.Fatalf("checked %v, report %+v, archived %v", checked, rep, q.archived)
	}
	if wm, err := env.State.Get(context.Background(), "parcels"); err != nil || wm == nil || wm.JobID != rep.JobID {
		t.Fatalf("watermark after the retry: %+v, %v", wm, err)
	}
}

func decodePayload(t *asynq.Task, p payload) error {
	_, err := decode(t, p)
	return err
}

// A query the database rejects fails its dataset at once (no retries): the
// job ends failed with the reason, the dataset leaves no files, and the
// other dataset publishes.
func TestHandlersPermanentFailureEndsTheJob(t *testing.T) {
	env := demoEnv(t, `  - name: broken
    query: SELECT no_such_column FROM parcels
    formats: [csv]
`)
	q := newFakeQueue(t, &Handlers{Env: env})
	rep := runJob(t, q, pipeline.Options{})
	if rep.Success || rep.Status != pipeline.StatusFailed || !strings.Contains(rep.Error, "no_such_column") {
		t.Fatalf("report: success %v, status %s, error %q", rep.Success, rep.Status, rep.Error)
	}
	if len(q.archived) != 1 || q.archived[0] != TypeExtract || len(q.failures) != 1 {
		t.Fatalf("archived %v after failures %v, want the one extract task, not retried", q.archived, q.failures)
	}
	for _, d := range rep.Datasets {
		if d.Success != (d.Name != "broken") {
			t.Errorf("dataset %s: success %v (%s)", d.Name, d.Success, d.Error)
		}
	}
	if keys, _ := env.Store.List(context.Background(), "broken"); len(keys) != 0 {
		t.Errorf("files of the failed dataset: %v", keys)
	}
}

// faultyStore fails Puts of the keys match selects while armed is above
// zero (a bucket that is briefly unreachable).
type faultyStore struct {
	storage.Store
	match func(key string) bool
	armed atomic.Int32
	err   error // errInjected if nil
}

func (s *faultyStore) Put(ctx context.Context, key, path string, exclusive bool) error {
	if s.match(key) && s.armed.Add(-1) >= 0 {
		os.Remove(path)
		if s.err != nil {
			return s.err
		}
		return errInjected
	}
	return s.Store.Put(ctx, key, path, exclusive)
}

// A transient failure (storage refusing two uploads) is retried and the
// job succeeds; storage that refuses for good (access denied) fails the
// dataset at once, without retries.
func TestHandlersRetryTransientNotPermanent(t *testing.T) {
	env := demoEnv(t, "")
	fs := &faultyStore{Store: env.Store, match: func(key string) bool {
		return strings.HasPrefix(key, "parcels_") && strings.HasSuffix(key, ".csv")
	}}
	fs.armed.Store(2)
	env.Store = fs
	q := newFakeQueue(t, &Handlers{Env: env})
	rep := runJob(t, q, pipeline.Options{})
	if !rep.Success || len(q.failures) != 2 || len(q.archived) != 0 {
		t.Fatalf("success %v, failures %v, archived %v", rep.Success, q.failures, q.archived)
	}

	denied := &faultyStore{Store: fs.Store, match: fs.match, err: storage.Permanent(errors.New("Access Denied."))}
	denied.armed.Store(100)
	env.Store = denied
	q = newFakeQueue(t, &Handlers{Env: env})
	rep = runJob(t, q, pipeline.Options{Datasets: []string{"parcels"}})
	if rep.Success || len(q.failures) != 1 || len(q.archived) != 1 || rep.Error != "dataset parcels: publish "+rep.Datasets[0].Name+"_"+strings.TrimPrefix(rep.JobID, "etl_")+".csv: Access Denied." {
		t.Fatalf("denied: success %v, error %q, failures %v, archived %v", rep.Success, rep.Error, q.failures, q.archived)
	}
}

// An extract task of a job with no record (left over from an earlier run
// whose records expired) fails at once without retries and takes no lock;
// a payload that does not decode does too.
func TestHandlersOrphanAndBadTasksFailFast(t *testing.T) {
	env := demoEnv(t, "")
	q := newFakeQueue(t, &Handlers{Env: env})
	orphan := q.h.tasks().extract("etl_20200101_000000", "parcels")
	bad := asynq.NewTask(TypeExport, []byte("not a protobuf"))
	badJob := q.h.tasks().publish("not-a-job", "parcels")
	for _, task := range []*asynq.Task{orphan, bad, badJob} {
		if _, err := q.EnqueueContext(context.Background(), task); err != nil {
			t.Fatal(err)
		}
	}
	q.drain(context.Background())
	if len(q.archived) != 3 || len(q.failures) != 3 {
		t.Fatalf("archived %v after %v, want all three at their first failure", q.archived, q.failures)
	}
	for _, err := range q.failures {
		if !errors.Is(err, asynq.SkipRetry) {
			t.Errorf("%v: not SkipRetry", err)
		}
	}
	l, err := env.State.Lock(context.Background(), "parcels", "someone-else", 0)
	if err != nil {
		t.Fatalf("the orphan took the dataset's lock: %v", err)
	}
	l.Release(context.Background())
}

// classify asks the errors themselves: storage's permanent errors, bad
// SQL and the steps' permanent failures skip retries; others do not.
func TestClassify(t *testing.T) {
	for _, c := range []struct {
		err  error
		skip bool
	}{
		{fmt.Errorf("put: %w", errInjected), false},
		{fmt.Errorf("dataset x: %w", state.ErrConflict), true},
		{fmt.Errorf("dataset x: %w", state.ErrLocked), false},
		{fmt.Errorf("dataset x: %w", pipeline.ErrPermanent), true},
		{fmt.Errorf("dataset x: %w", storage.Permanent(errors.New("AccessDenied"))), true},
		{fmt.Errorf("dataset x: %w", source.ErrQuery), true},
		{context.DeadlineExceeded, false},
	} {
		if got := errors.Is(classify(c.err), asynq.SkipRetry); got != c.skip {
			t.Errorf("classify(%v): SkipRetry %v, want %v", c.err, got, c.skip)
		}
	}
}

// A task for a dataset this worker's config does not have is retried (a
// config rollout may be under way) and, once no retry is left, fails its
// dataset with a message that says so.
func TestHandlersUnknownDatasetRetriedThenFails(t *testing.T) {
	producer := demoEnv(t, `  - name: roads
    query: SELECT id FROM parcels
    formats: [csv]
`)
	worker := *producer
	cfg := *producer.Config
	cfg.Datasets = slices.DeleteFunc(slices.Clone(cfg.Datasets), func(d *config.Dataset) bool { return d.Name == "roads" })
	worker.Config = &cfg
	q := newFakeQueue(t, &Handlers{Env: &worker})
	ctx := context.Background()
	id, err := Enqueue(ctx, producer, q, pipeline.Options{Datasets: []string{"roads"}})
	if err != nil {
		t.Fatal(err)
	}
	q.drain(ctx)
	rep, done, err := pipeline.ReadReport(ctx, worker.Jobs, id)
	if err != nil || !done {
		t.Fatalf("job %s: done %v, %v", id, done, err)
	}
	if rep.Success || !strings.Contains(rep.Error, "roads is not in this worker's config") {
		t.Fatalf("report error %q", rep.Error)
	}
	if want := maxRetry[TypeExtract] + 1; len(q.failures) != want || len(q.archived) != 1 {
		t.Fatalf("failures %d, archived %v; want %d runs of the extract task, then Fail", len(q.failures), q.archived, want)
	}
}
