package queue

import (
	"context"
	"errors"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/state"
)

// restartingJobs is job records whose reads fail while down, with the
// error a client gets from a Redis being restarted.
type restartingJobs struct {
	state.Jobs
	down  atomic.Bool
	reads atomic.Int32 // reads while down
}

func (j *restartingJobs) GetJob(ctx context.Context, id string) ([]byte, error) {
	if j.down.Load() {
		j.reads.Add(1)
		return nil, &dialError{syscall.ECONNREFUSED}
	}
	return j.Jobs.GetJob(ctx, id)
}

type dialError struct{ err error }

func (e *dialError) Error() string { return "dial tcp 127.0.0.1:6379: connect: " + e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// enqueue --wait keeps reading through a Redis restart and reports the
// job's outcome (red-team U1: it exited 1 on a 3-second restart while the
// job succeeded). The records go down while the job is queued and come
// back after several failed polls; then the job runs.
func TestWaitRidesOutARestart(t *testing.T) {
	env := demoEnv(t, "")
	jobs := &restartingJobs{Jobs: env.Jobs}
	q := newFakeQueue(t, &Handlers{Env: env})
	ctx := context.Background()
	id, err := Enqueue(ctx, env, q, pipeline.Options{Datasets: []string{"permits"}})
	if err != nil {
		t.Fatal(err)
	}
	jobs.down.Store(true)
	type result struct {
		rep *pipeline.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := Wait(ctx, jobs, id, 5*time.Millisecond, nil)
		done <- result{rep, err}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for jobs.reads.Load() < 5 {
		select {
		case r := <-done:
			t.Fatalf("Wait returned while Redis was down: %+v, %v", r.rep, r.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("Wait never read")
		}
		time.Sleep(time.Millisecond)
	}
	jobs.down.Store(false)
	q.drain(ctx)
	r := <-done
	if r.err != nil || r.rep == nil || !r.rep.Success || r.rep.Status != pipeline.StatusSucceeded {
		t.Fatalf("Wait after the restart: %+v, %v", r.rep, r.err)
	}

	// Still down at the deadline: the deadline's error names the last read.
	jobs.down.Store(true)
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = Wait(tctx, jobs, id, 5*time.Millisecond, nil)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Wait with Redis down until the deadline: %v", err)
	}
}

// failingClient refuses every task: a Redis that is out of memory.
type failingClient struct{}

func (failingClient) EnqueueContext(context.Context, *asynq.Task, ...asynq.Option) (*asynq.TaskInfo, error) {
	return nil, errors.New("OOM command not allowed when used memory > 'maxmemory'")
}

// A job whose tasks cannot be enqueued ends failed, naming why, instead
// of staying queued for ever (red-team U2's phantom job).
func TestEnqueueFailureLeavesNoQueuedJob(t *testing.T) {
	env := demoEnv(t, "")
	ctx := context.Background()
	id, err := Enqueue(ctx, env, failingClient{}, pipeline.Options{})
	if err == nil || errors.Is(err, pipeline.ErrUsage) {
		t.Fatalf("enqueue into a full Redis: %v, want an infrastructure error", err)
	}
	rep, done, rerr := pipeline.ReadReport(ctx, env.Jobs, id)
	if rerr != nil || !done || rep.Status != pipeline.StatusFailed || rep.Success {
		t.Fatalf("job %s after the failed enqueue: done %v, %+v, %v", id, done, rep, rerr)
	}
	if len(rep.Datasets) != 2 {
		t.Errorf("datasets in the report: %d, want both failed", len(rep.Datasets))
	}
	// Its datasets are not locked: the next job runs.
	q := newFakeQueue(t, &Handlers{Env: env})
	if next := runJob(t, q, pipeline.Options{}); !next.Success {
		t.Fatalf("next job: %s", next.Error)
	}
}
