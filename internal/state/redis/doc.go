// Package redis implements state.Store in Redis, for the distributed mode
// (workers on several machines), and state.Jobs, the job records those
// workers share. It is the only package besides the queue that talks to
// Redis through go-redis.
//
// Every key starts with "<prefix>:" (the config's state.prefix,
// "countysync" by default):
//
//	wm:<dataset>                 string: the watermark as JSON (state.Watermark)
//	lock:<name>                  string: the owner (job id) of the lock, with a lease (PX)
//	job:<id>                     string: job document            } expire after the
//	jobs                         sorted set: job ids by creation } job TTL (30 days
//	job:<id>:datasets            hash: dataset -> result         } by default); the
//	job:<id>:artifacts:<dataset> hash: member -> record (fan-in) } index is trimmed to it
//
// Watermarks never expire. Set is a compare-and-set on the job id of the
// stored watermark, done by a Lua script; Reset stores
// state.ResetWatermark rather than deleting the key, because a missing
// watermark is restored from the last manifest and a reset one must not be.
//
// A lock (a dataset's, or any other name, which may contain ':') is SET
// NX PX with a lease (WithLease, 2 minutes by default), polled every
// 100–250 ms while waiting. It is re-entrant: the extract, export and
// publish tasks of one job run on different workers with the job id as
// owner, and each acquires the lock again (refreshing the lease); a task
// hands it on with Lock.Keep and the publish task ends it with
// Store.Unlock. While held, a goroutine renews the lease every lease/3; a
// renewal that finds the lock expired or taken logs a warning and stops.
// Release and Unlock delete the key only if the owner still holds it (a
// Lua compare-and-delete), so a run whose lease ran out never deletes its
// successor's lock; they report that case with an error wrapping
// state.ErrLocked and ErrLockLost.
//
// A dataset's fan-in is its artifacts hash alone: PutArtifacts writes the
// records and reads the whole hash back in one MULTI, so the task whose
// write completes the set of members is the one that sees it complete.
//
// The scripts and MULTI blocks touch several keys of one job at once, so
// the package expects a single Redis server (or a Sentinel-managed one), as
// asynq does; on Redis Cluster those keys would need hash tags.
package redis
