package queue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/state"
)

// Enqueue starts a job (pipeline.Start: checks the options, claims a job
// id, records the job) and enqueues one extract task per dataset.
func Enqueue(ctx context.Context, env *pipeline.Env, client Enqueuer, opts pipeline.Options) (string, error) {
	job, datasets, err := pipeline.Start(ctx, env, opts)
	if err != nil {
		return "", err
	}
	h := &Handlers{Env: env, Client: client}
	for i, d := range datasets {
		if err := h.enqueue(ctx, h.tasks().extract(job.ID, d.Name)); err != nil {
			// The datasets not enqueued fail, so the job ends (failed)
			// instead of staying queued for ever; those enqueued run.
			err = fmt.Errorf("job %s, dataset %s: %w", job.ID, d.Name, err)
			for _, left := range datasets[i:] {
				pipeline.Fail(ctx, env, job, left.Name, err)
			}
			return job.ID, err
		}
	}
	return job.ID, nil
}

// Wait polls the job's records every `every` until it has ended or ctx
// ends, and returns the report. A failed read (Redis restarting) is
// retried at the next poll: only ctx ends the wait, with the last report
// read, if any, and the last read error. watch, if not nil, is called
// between polls (`enqueue --wait` says there when no worker is alive).
func Wait(ctx context.Context, jobs state.Jobs, id string, every time.Duration, watch func(context.Context)) (*pipeline.Report, error) {
	t := time.NewTicker(every)
	defer t.Stop()
	var last *pipeline.Report
	var readErr error
	for {
		rep, _, err := pipeline.ReadReport(ctx, jobs, id)
		switch {
		case errors.Is(err, state.ErrJobNotFound):
			return nil, err
		case err != nil:
			readErr = err
		default:
			last, readErr = rep, nil
			if rep.Status == pipeline.StatusSucceeded || rep.Status == pipeline.StatusFailed {
				return rep, nil
			}
		}
		if watch != nil {
			watch(ctx)
		}
		select {
		case <-ctx.Done():
			if readErr != nil {
				return last, fmt.Errorf("job %s not finished: %w (last read: %w)", id, ctx.Err(), readErr)
			}
			return last, fmt.Errorf("job %s not finished: %w", id, ctx.Err())
		case <-t.C:
		}
	}
}

// Workers returns how many worker processes serve a queue of the
// deployment whose keys start with prefix, as asynq's server records say
// (a worker's record expires seconds after it stops).
func Workers(insp *asynq.Inspector, prefix string) (int, error) {
	servers, err := insp.Servers()
	if err != nil {
		return 0, fmt.Errorf("list workers: %w", err)
	}
	n := 0
	for _, s := range servers {
		for q := range s.Queues {
			if strings.HasPrefix(q, prefix+":") && slices.Contains(TaskTypes, strings.TrimPrefix(q, prefix+":")) {
				n++
				break
			}
		}
	}
	return n, nil
}
