package queue

import (
	"context"
	"errors"
	"hash/fnv"
	"strconv"
	"sync"
	"testing"

	"github.com/hibiken/asynq"
)

// fakeQueue is asynq in one process, for handler tests without Redis (the
// way asynq tests its ServeMux with fake handlers): it keeps tasks in
// order, refuses a task whose type and payload are already queued (the
// deterministic ids do that in asynq), and runs them through a ServeMux
// with the worker's handlers. A failed task runs again until its retries
// are spent or it fails with SkipRetry; then the worker's Fail runs, as
// asynq's ErrorHandler does.
type fakeQueue struct {
	t *testing.T
	h *Handlers

	mu       sync.Mutex
	pending  []*asynq.Task
	queued   map[string]bool
	retried  map[string]int
	ran      []string // task types in the order they ran
	failures []error  // every error a handler returned
	archived []string // types of the tasks that failed for good
	// before, if set, runs before each task (fault injection); after,
	// after each, with the handler's error.
	before func(t *asynq.Task)
	after  func(t *asynq.Task, err error)
	// duplicate delivers every task twice, as asynq may after a crash.
	duplicate bool
}

func newFakeQueue(t *testing.T, h *Handlers) *fakeQueue {
	q := &fakeQueue{t: t, h: h, queued: map[string]bool{}, retried: map[string]int{}}
	h.Client = q
	return q
}

func fakeID(t *asynq.Task) string {
	f := fnv.New64a()
	f.Write([]byte(t.Type()))
	f.Write(t.Payload())
	return strconv.FormatUint(f.Sum64(), 16)
}

func (q *fakeQueue) EnqueueContext(_ context.Context, t *asynq.Task, _ ...asynq.Option) (*asynq.TaskInfo, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	id := fakeID(t)
	if q.queued[id] {
		return nil, asynq.ErrTaskIDConflict
	}
	q.queued[id] = true
	q.pending = append(q.pending, t)
	return &asynq.TaskInfo{ID: id, Type: t.Type()}, nil
}

// drain runs tasks until none is left (at most limit, against loops).
func (q *fakeQueue) drain(ctx context.Context) {
	mux := asynq.NewServeMux()
	mux.HandleFunc(TypeExtract, q.h.HandleExtract)
	mux.HandleFunc(TypeExport, q.h.HandleExport)
	mux.HandleFunc(TypePublish, q.h.HandlePublish)
	for n := 0; ; n++ {
		if n > 200 {
			q.t.Fatal("more than 200 tasks: the handlers loop")
		}
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.mu.Unlock()
			return
		}
		t := q.pending[0]
		q.pending = q.pending[1:]
		q.mu.Unlock()
		deliveries := 1
		if q.duplicate {
			deliveries = 2
		}
		for range deliveries {
			q.run(ctx, mux, t)
		}
	}
}

func (q *fakeQueue) run(ctx context.Context, mux *asynq.ServeMux, t *asynq.Task) {
	if q.before != nil {
		q.before(t)
	}
	err := mux.ProcessTask(ctx, t)
	q.ran = append(q.ran, t.Type())
	if q.after != nil {
		q.after(t, err)
	}
	if err == nil {
		return
	}
	q.failures = append(q.failures, err)
	id := fakeID(t)
	if errors.Is(err, asynq.SkipRetry) || q.retried[id] >= maxRetry[t.Type()] {
		q.archived = append(q.archived, t.Type())
		q.h.Fail(ctx, t, err)
		return
	}
	q.retried[id]++
	q.mu.Lock()
	q.pending = append(q.pending, t)
	q.mu.Unlock()
}
