package queue

import (
	"context"
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
	for _, d := range datasets {
		if err := h.enqueue(ctx, h.tasks().extract(job.ID, d.Name)); err != nil {
			return "", fmt.Errorf("job %s, dataset %s: %w", job.ID, d.Name, err)
		}
	}
	return job.ID, nil
}

// Wait polls the job's records every `every` until it has ended or ctx
// ends, and returns the report. watch, if not nil, is called between polls
// (`enqueue --wait` says there when no worker is alive).
func Wait(ctx context.Context, jobs state.Jobs, id string, every time.Duration, watch func(context.Context)) (*pipeline.Report, error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		rep, _, err := pipeline.ReadReport(ctx, jobs, id)
		if err != nil {
			return nil, err
		}
		if rep.Status == pipeline.StatusSucceeded || rep.Status == pipeline.StatusFailed {
			return rep, nil
		}
		if watch != nil {
			watch(ctx)
		}
		select {
		case <-ctx.Done():
			return rep, fmt.Errorf("job %s not finished: %w", id, ctx.Err())
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
