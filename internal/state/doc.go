// Package state keeps what must survive between runs and what the steps of
// one job share: each dataset's watermark (the highest cursor value
// published, with the snapshot it belongs to), named locks so two runs
// never interleave on a dataset (Store), and the records of running and
// recent jobs with each dataset's fan-in (Jobs).
//
// Store has two implementations: file (a JSON state file beside the
// exports, with flock(2) locks, for the embedded runner) and redis (for
// workers); both pass statetest.Run. The watermark only moves through Set,
// a compare-and-set on the job that wrote the previous value, so a stale
// or duplicate run can never move it backwards or past data it did not
// publish. A lock belongs to an owner (a job id), not to a Lock value: the
// owner takes it again at once, so a step can Keep it for the job's next
// step, and Unlock ends it by owner.
//
// Jobs has two implementations: memory (in-process, for the embedded
// runner) and redis; both pass statetest.RunJobs.
package state
