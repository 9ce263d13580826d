// Package redis implements state.Store in Redis, for the distributed mode
// (workers on several machines), and keeps the job records those workers
// share (Jobs). It is the only package besides the queue that talks to
// Redis through go-redis.
//
// Every key starts with "<prefix>:" (the config's state.prefix,
// "countysync" by default):
//
//	wm:<dataset>                 string: the watermark as JSON (state.Watermark)
//	lock:<dataset>               string: the owner (job id) of the dataset lock, with a lease (PX)
//	job:<id>                     string: job document            } expire after the
//	jobs                         sorted set: job ids by creation } job TTL (30 days
//	job:<id>:datasets            hash: dataset -> result         } by default); the
//	job:<id>:artifacts:<dataset> hash: format -> artifact        } index is trimmed
//	job:<id>:done:<dataset>      set: formats exported (fan-in)  } to it
//
// Watermarks never expire. Set is a compare-and-set on the job id of the
// stored watermark, done by a Lua script; Reset stores
// state.ResetWatermark rather than deleting the key, because a missing
// watermark is restored from the last manifest and a reset one must not be.
//
// A dataset lock is SET NX PX with a lease (WithLease, 2 minutes by
// default), polled every 100–250 ms while waiting. It is re-entrant: the
// extract, export and publish tasks of one job run on different workers
// with the job id as owner, and each acquires the lock again (refreshing
// the lease); a task hands it on with Lock.Stop and the publish task ends
// it with Store.ReleaseLock. While held, a goroutine renews the lease every
// lease/3; a renewal that finds the lock expired or taken logs a warning,
// closes Lock.Lost and stops. Release deletes the key only if the owner
// still holds it (a Lua compare-and-delete), so a run whose lease ran out
// never deletes its successor's lock.
//
// The scripts and MULTI blocks touch several keys of one job at once, so
// the package expects a single Redis server (or a Sentinel-managed one), as
// asynq does; on Redis Cluster those keys would need hash tags.
package redis
