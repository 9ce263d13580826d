// Package state keeps what must survive between runs: each dataset's
// watermark (the highest cursor value published, with the snapshot it
// belongs to) and a lock per dataset so two runs never interleave.
//
// Two implementations: file (a JSON state file beside the exports, with
// flock(2) locks, for the embedded runner) and redis (for workers). The
// watermark only moves through Set, a compare-and-set on the job that
// wrote the previous value, so a stale or duplicate run can never move it
// backwards or past data it did not publish.
package state
