// Package queue is the distributed door onto the job's steps, on Redis
// with asynq: the producer (`countysync enqueue`, the scheduler), the
// worker that runs the tasks, and retry classification. It holds no
// per-dataset logic: each handler decodes its payload, calls one step of
// internal/pipeline and enqueues the steps that step made due.
//
//	enqueue   pipeline.Start (claim the job id, record the job and its
//	          options), then one task per dataset:
//	<job>:extract:<dataset>          pipeline.Extract
//	      ──► <job>:export:<dataset>:<format>   pipeline.Render, one task per
//	                                            format left unrendered (none
//	                                            when the rows streamed)
//	      ──► <job>:publish:<dataset>           pipeline.Publish, enqueued by
//	                                            whichever step completed the
//	                                            dataset's fan-in
//	a task that will not be retried           pipeline.Fail
//
// Task ids are deterministic (job, step, dataset, format), so re-enqueues
// and duplicate deliveries collapse, and every step is idempotent. Errors
// that retrying cannot fix (pipeline.IsPermanent) skip asynq's retries.
package queue
