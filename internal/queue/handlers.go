package queue

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/countydatasync/countysync/internal/pipeline"
	v1 "github.com/countydatasync/countysync/proto/countysync/v1"
)

// Enqueuer adds tasks to the queues (an *asynq.Client; tests use a fake).
type Enqueuer interface {
	EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// Handlers runs the tasks of a worker: each decodes its payload, runs one
// step and enqueues the steps it made due.
type Handlers struct {
	Env    *pipeline.Env
	Client Enqueuer
}

// HandleExtract runs pipeline.Extract and enqueues the dataset's render
// tasks, or its publish when the rows streamed into every format.
func (h *Handlers) HandleExtract(ctx context.Context, t *asynq.Task) error {
	var p v1.ExtractTask
	job, err := decode(t, &p)
	if err != nil {
		return err
	}
	next, err := pipeline.Extract(ctx, h.Env, job, p.GetDataset())
	if err != nil {
		return classify(err)
	}
	if next.Publish {
		return h.enqueue(ctx, h.tasks().publish(job.ID, p.GetDataset()))
	}
	for _, f := range next.Render {
		if err := h.enqueue(ctx, h.tasks().export(job.ID, p.GetDataset(), f)); err != nil {
			return err
		}
	}
	return nil
}

// HandleExport runs pipeline.Render and enqueues the dataset's publish if
// that completed its formats.
func (h *Handlers) HandleExport(ctx context.Context, t *asynq.Task) error {
	var p v1.ExportTask
	job, err := decode(t, &p)
	if err != nil {
		return err
	}
	next, err := pipeline.Render(ctx, h.Env, job, p.GetDataset(), p.GetFormat())
	if err != nil {
		return classify(err)
	}
	if next.Publish {
		return h.enqueue(ctx, h.tasks().publish(job.ID, p.GetDataset()))
	}
	return nil // the other formats' tasks exist: the last one enqueues publish
}

// HandlePublish runs pipeline.Publish.
func (h *Handlers) HandlePublish(ctx context.Context, t *asynq.Task) error {
	var p v1.PublishTask
	job, err := decode(t, &p)
	if err != nil {
		return err
	}
	return classify(pipeline.Publish(ctx, h.Env, job, p.GetDataset()))
}

// Fail runs pipeline.Fail for a task that will not be retried.
func (h *Handlers) Fail(ctx context.Context, t *asynq.Task, cause error) {
	p := payloadFor(t)
	if p == nil {
		return
	}
	job, err := decode(t, p)
	if err != nil {
		return
	}
	pipeline.Fail(ctx, h.Env, job, p.GetDataset(), withoutSkipRetry(cause))
}

// withoutSkipRetry returns the error classify marked, for the report.
func withoutSkipRetry(err error) error {
	if m, ok := err.(interface{ Unwrap() []error }); ok {
		if errs := m.Unwrap(); len(errs) == 2 && errs[1] == asynq.SkipRetry {
			return errs[0]
		}
	}
	return err
}

func (h *Handlers) tasks() taskMaker { return taskMaker{prefix: h.Env.Config.State.Prefix} }

// enqueue adds a task (see enqueueOnce).
func (h *Handlers) enqueue(ctx context.Context, t *asynq.Task) error {
	if err := enqueueOnce(ctx, h.Client, t); err != nil {
		return fmt.Errorf("enqueue %s: %w", t.Type(), err)
	}
	return nil
}

// enqueueOnce adds a task, treating "already there" as success: task ids
// are deterministic, so the task there is the same.
func enqueueOnce(ctx context.Context, c Enqueuer, t *asynq.Task) error {
	_, err := c.EnqueueContext(ctx, t)
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return nil
	}
	return err
}

// classify marks errors that retrying cannot fix as asynq.SkipRetry.
func classify(err error) error {
	if err != nil && pipeline.IsPermanent(err) {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	return err
}
