package queue

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/source"
)

type panickySource struct{ source.Source }

func (panickySource) Query(context.Context, string, *source.Filter) (source.Rows, error) {
	panic("query went wrong")
}

// A panic in a task is a failure that is not retried, and the job's report
// says which step of which dataset panicked (red-team H1: workers retried
// a panic five times and reported only "nil pointer dereference"). A panic
// outside the steps is caught by the worker's middleware, also for good.
func TestPanicInATaskIsNotRetried(t *testing.T) {
	env := demoEnv(t, "")
	env.Source = panickySource{env.Source}
	q := newFakeQueue(t, &Handlers{Env: env})
	rep := runJob(t, q, pipeline.Options{Datasets: []string{"permits"}})
	if rep.Success || len(q.failures) != 1 || len(q.archived) != 1 || !errors.Is(q.failures[0], asynq.SkipRetry) {
		t.Fatalf("report %+v, failures %v, archived %v: want one failure, not retried", rep, q.failures, q.archived)
	}
	if !strings.Contains(rep.Error, "dataset permits: extract step: internal error (panic: query went wrong") {
		t.Errorf("report error %q", rep.Error)
	}

	h := recoverPanics(testLogger(t))(asynq.HandlerFunc(func(context.Context, *asynq.Task) error { panic("outside a step") }))
	err := h.ProcessTask(context.Background(), asynq.NewTask(TypeExport, nil))
	if !errors.Is(err, asynq.SkipRetry) || !strings.Contains(err.Error(), "outside a step") {
		t.Errorf("middleware: %v", err)
	}
}
