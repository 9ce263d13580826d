// Package queue is the distributed mode of CountyDataSync on Redis with
// asynq (DESIGN.md §9): the producer (`countysync enqueue`), the task
// handlers the workers run, and the job records that `status`,
// `enqueue --wait` and the dashboard read.
//
// A job fans out and back in:
//
//	enqueue ──► extract:<job>:<dataset>          lock the dataset (lease, owner = job),
//	                                             run pipeline.Extract into a snapshot,
//	                                             store it, record the extraction
//	            ──► export:<job>:<dataset>:<fmt>  one per format: pipeline.Export of
//	                                             the snapshot, record the artifact in
//	                                             the dataset's fan-in set
//	            ──► publish:<job>:<dataset>       enqueued by the export that completes
//	                                             the set: pipeline.Publish (latest
//	                                             names, manifest, watermark CAS),
//	                                             release the lock
//
// Task ids are deterministic (job, dataset, format), so re-enqueues and
// duplicate deliveries collapse, and every handler is idempotent: it first
// looks at the job record for work already done. Payloads are protobuf
// messages (proto/countysync/v1) carrying ids and object keys; rows travel
// as snapshot files in object storage. The step logic is pipeline's: this
// package only moves inputs between processes.
package queue
