package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/pipeline"
	v1 "github.com/countydatasync/countysync/proto/countysync/v1"
)

// jobTTL bounds how long job records stay in Redis.
const jobTTL = 30 * 24 * time.Hour

// Enqueue claims a job id, records the job and enqueues one extract task
// per dataset. Job ids are per second: if another producer took this
// second's id, Enqueue waits for the next one.
func Enqueue(ctx context.Context, cfg *config.Config, client *asynq.Client, records Records, opts pipeline.Options, now func() time.Time) (string, error) {
	datasets, err := pipeline.SelectDatasets(cfg, opts.Datasets)
	if err != nil {
		return "", err
	}
	if err := pipeline.CheckOptions(datasets, opts); err != nil {
		return "", err
	}
	var job pipeline.Job
	for attempt := 0; ; attempt++ {
		job = pipeline.NewJob(now())
		doc := &JobDoc{JobID: job.ID, Stamp: job.Stamp, Start: job.Start, Formats: opts.Formats,
			Full: opts.Full, Strict: opts.Strict, Status: "queued"}
		for _, d := range datasets {
			doc.Datasets = append(doc.Datasets, d.Name)
		}
		data, _ := json.Marshal(doc)
		created, err := records.Store.CreateJob(ctx, job.ID, data, jobTTL)
		if err != nil {
			return "", err
		}
		if created {
			break
		}
		if attempt >= 10 {
			return "", errors.New("claim job id: every id was taken for 10 seconds")
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(time.Until(job.Start.Truncate(time.Second).Add(time.Second)) + 10*time.Millisecond):
		}
	}
	for _, d := range datasets {
		task, err := newTask(TypeExtract, extractID(job.ID, d.Name), &v1.ExtractTask{
			JobId: job.ID, Dataset: d.Name, Options: optionsToProto(opts), Stamp: job.Stamp,
		}, extractTimeout)
		if err != nil {
			return "", err
		}
		if _, err := client.EnqueueContext(ctx, task); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			return "", fmt.Errorf("enqueue extract of %s: %w", d.Name, err)
		}
	}
	return job.ID, nil
}

// Wait polls the job's records until every dataset has finished or ctx
// ends, and returns the report.
func Wait(ctx context.Context, records Records, id string, every time.Duration) (*pipeline.Report, error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		rep, done, err := records.Report(ctx, id)
		if err != nil {
			return nil, err
		}
		if done && (rep.Status == "succeeded" || rep.Status == "failed") {
			return rep, nil
		}
		select {
		case <-ctx.Done():
			return rep, fmt.Errorf("job %s not finished: %w", id, ctx.Err())
		case <-t.C:
		}
	}
}
