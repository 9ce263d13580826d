package queue

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/demo"
	"github.com/countydatasync/countysync/internal/open"
	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/state"
	"github.com/countydatasync/countysync/internal/testsvc"
)

// redisDemoEnv is the demo county with its state and job records in the
// test Redis under a prefix of the test's own, and an asynq client and
// inspector on that Redis.
func redisDemoEnv(t *testing.T) (*pipeline.Env, asynq.RedisConnOpt, *asynq.Client, *asynq.Inspector) {
	t.Helper()
	url := testsvc.Redis(t)
	prefix := testsvc.RedisPrefix(t, url, "reap")
	dir := t.TempDir()
	cfgPath, err := demo.Write(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := os.ReadFile(cfgPath)
	text = fmt.Appendf(text, "state: {url: %q, prefix: %q}\n", url, prefix)
	if err := os.WriteFile(cfgPath, text, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	env, closeEnv, err := open.Env(context.Background(), cfg, testLogger(t), open.Options{Source: true, Jobs: open.Shared})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeEnv)
	opt, err := asynq.ParseRedisURI(url)
	if err != nil {
		t.Fatal(err)
	}
	client, insp := asynq.NewClient(opt), asynq.NewInspector(opt)
	t.Cleanup(func() { client.Close(); insp.Close() })
	return env, opt, client, insp
}

// partitionedBeats is a worker's view of the heartbeats while the beats
// of the tasks that are not successors cannot reach Redis: they fail,
// until cut is cleared.
type partitionedBeats struct {
	state.Beats
	cut atomic.Bool
}

func (p *partitionedBeats) Beat(ctx context.Context, name string, ttl time.Duration) error {
	if p.cut.Load() && !strings.Contains(name, "#r") {
		return errors.New("dial tcp: connection refused (injected)")
	}
	return p.Beats.Beat(ctx, name, ttl)
}

// TestReaperTakesOverATaskWhoseBeatLapsed runs a real asynq worker whose
// heartbeats cannot reach Redis while it runs a job's first extract task:
// the reaper takes the task over (a successor "<id>#r1" with the same
// payload and fresh retries), the worker stops the original when its beats
// have failed for a ttl, the successor runs the step, and the job
// succeeds. When the original comes round again (the worker retries it),
// it does nothing: the step ran once for it and once for its successor's
// delivery only.
func TestReaperTakesOverATaskWhoseBeatLapsed(t *testing.T) {
	env, opt, client, insp := redisDemoEnv(t)
	ctx := context.Background()
	beats := open.Beats(env.State)
	if beats == nil {
		t.Fatal("no heartbeats on a Redis state store")
	}
	part := &partitionedBeats{Beats: beats}
	part.cut.Store(true)
	h := &Handlers{Env: env, Client: client}
	var mu sync.Mutex
	ran := map[string]int{}       // task id → step runs
	stopped := map[string]error{} // task id → why its context ended
	original := ""
	srv := asynq.NewServer(opt, asynq.Config{
		Concurrency: 2, Queues: queues(env.Config.State.Prefix, map[string]int{"extract": 1, "export": 1, "publish": 1}),
		Logger: slogAdapter{env.Log}, TaskCheckInterval: 50 * time.Millisecond, RetryDelayFunc: func(int, error, *asynq.Task) time.Duration { return 100 * time.Millisecond },
	})
	mux := asynq.NewServeMux()
	mux.Use((&beater{beats: part, log: env.Log, ttl: 600 * time.Millisecond, every: 150 * time.Millisecond}).middleware)
	mux.Use(func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, task *asynq.Task) error {
			id, _ := asynq.GetTaskID(ctx)
			mu.Lock()
			ran[id]++
			first := original == "" && task.Type() == TypeExtract
			if first {
				original = id
			}
			mu.Unlock()
			if first {
				<-ctx.Done() // hangs until the beater stops it
				mu.Lock()
				stopped[id] = context.Cause(ctx)
				mu.Unlock()
				return ctx.Err()
			}
			return next.ProcessTask(ctx, task)
		})
	})
	mux.HandleFunc(TypeExtract, h.HandleExtract)
	mux.HandleFunc(TypeExport, h.HandleExport)
	mux.HandleFunc(TypePublish, h.HandlePublish)
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()

	jobID, err := Enqueue(ctx, env, client, pipeline.Options{Datasets: []string{"permits"}})
	if err != nil {
		t.Fatal(err)
	}
	extractID := jobID + ":extract:permits"
	r := newReaper(env, insp, beats, client)
	r.takeOverAfter = 100 * time.Millisecond
	deadline := time.Now().Add(30 * time.Second)
	var succ *asynq.TaskInfo
	for succ == nil {
		if time.Now().After(deadline) {
			t.Fatal("the reaper did not take over the task whose beats fail")
		}
		r.tick(ctx)
		succ, _ = insp.GetTaskInfo(QueueName(env.Config.State.Prefix, TypeExtract), extractID+"#r1")
		time.Sleep(50 * time.Millisecond)
	}
	waitUntil(t, 10*time.Second, "the original to stop", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return stopped[extractID] != nil
	})
	part.cut.Store(false) // heal: the original's worker reaches Redis again
	if succ.Type != TypeExtract || string(succ.Payload) != string(h.tasks().extract(jobID, "permits").Payload()) || succ.Retried != 0 || succ.MaxRetry != maxRetry[TypeExtract] {
		t.Errorf("successor: type %s, retried %d of %d, payload %x", succ.Type, succ.Retried, succ.MaxRetry, succ.Payload)
	}
	if st, _ := beats.BeatStatus(ctx, []string{extractID}); st[0] != state.BeatTakenOver {
		t.Errorf("original's heartbeat: %v, want taken over", st[0])
	}
	rep, err := Wait(ctx, env.Jobs, jobID, 50*time.Millisecond, nil)
	if err != nil || !rep.Success {
		t.Fatalf("job after the take-over: %v %+v", err, rep)
	}
	// The worker retries the stopped original (100 ms): it must find
	// itself taken over and not run the step.
	waitUntil(t, 30*time.Second, "the original to leave the queue", func() bool {
		_, err := insp.GetTaskInfo(QueueName(env.Config.State.Prefix, TypeExtract), extractID)
		return errors.Is(err, asynq.ErrTaskNotFound)
	})
	mu.Lock()
	defer mu.Unlock()
	if original != extractID {
		t.Fatalf("the first extract task was %q, want %q", original, extractID)
	}
	if !errors.Is(stopped[extractID], errBeatLost) {
		t.Errorf("the original was stopped by %v, want errBeatLost", stopped[extractID])
	}
	if ran[extractID] != 1 || ran[extractID+"#r1"] != 1 {
		t.Errorf("step runs: original %d, successor %d; want 1 and 1 (%v)", ran[extractID], ran[extractID+"#r1"], ran)
	}
}

// TestReaperFailsADatasetWhoseTaskWasDeleted deletes the extract task of
// one dataset of a two-dataset job (as asynqmon's Delete does) while no
// worker runs: the reaper fails that dataset with the reason, once it saw
// it without a task twice, and leaves the other dataset, whose task is
// still pending, alone. Once that one's task is deleted too, the job ends
// as failed.
func TestReaperFailsADatasetWhoseTaskWasDeleted(t *testing.T) {
	env, _, client, insp := redisDemoEnv(t)
	ctx := context.Background()
	jobID, err := Enqueue(ctx, env, client, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	q := QueueName(env.Config.State.Prefix, TypeExtract)
	if err := insp.DeleteTask(q, jobID+":extract:parcels"); err != nil {
		t.Fatal(err)
	}
	r := newReaper(env, insp, open.Beats(env.State), client)
	r.lostEvery = 200 * time.Millisecond
	result := func(dataset string) *pipeline.DatasetResult {
		rep, _, err := pipeline.ReadReport(ctx, env.Jobs, jobID)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range rep.Datasets {
			if d.Name == dataset && d.Mode != pipeline.ModePending {
				return d
			}
		}
		return nil
	}
	r.tick(ctx) // first sighting
	if result("parcels") != nil {
		t.Fatal("the reaper failed a dataset at its first sighting")
	}
	waitUntil(t, 10*time.Second, "parcels to fail", func() bool { r.tick(ctx); return result("parcels") != nil })
	got := result("parcels")
	if got.Success || !strings.Contains(got.Error, "its task was deleted or lost") {
		t.Errorf("parcels: success %v, error %q", got.Success, got.Error)
	}
	for range 3 {
		time.Sleep(r.lostEvery)
		r.tick(ctx)
	}
	if result("permits") != nil {
		t.Fatal("the reaper failed permits, whose task is pending")
	}
	if err := insp.DeleteTask(q, jobID+":extract:permits"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the job to end", func() bool {
		r.tick(ctx)
		rec, err := pipeline.LoadJob(ctx, env.Jobs, jobID)
		return err == nil && rec.Ended()
	})
	rep, _, _ := pipeline.ReadReport(ctx, env.Jobs, jobID)
	if rep.Status != pipeline.StatusFailed || rep.Success {
		t.Errorf("job: status %s, success %v", rep.Status, rep.Success)
	}
	// The datasets' locks are free for the next job.
	for _, d := range []string{"parcels", "permits"} {
		l, err := env.State.Lock(ctx, d, "next-job", 0)
		if err != nil {
			t.Errorf("lock %s after the job ended: %v", d, err)
			continue
		}
		l.Release(ctx)
	}
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
