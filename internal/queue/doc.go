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
//
// What asynq cannot do fast enough lives here too, because it needs
// asynq's view of the queues: every running task beats (heartbeat.go),
// and every worker's reaper (reaper.go) takes over a task whose beats
// lapsed (a killed worker) under a successor id, and fails, through
// pipeline.Fail, a dataset of a running job that no task will finish (a
// task deleted in asynqmon). Queue names carry state.prefix (QueueName).
package queue
