// Package open is the composition root: it opens the outside systems a
// job runs against (the source database, the storage, the state store and
// the job records) by URL scheme, through one small registry per kind, and
// assembles them into a pipeline.Env. It is the only package that imports
// the concrete drivers; the steps in internal/pipeline see interfaces
// only. The command line, the dashboard and the tests open everything
// here.
//
// Schemes:
//
//	source   postgres://, postgresql://   PostgreSQL/PostGIS (source/postgres)
//	         sqlite://PATH                a SQLite file, read-only (source/sqlite)
//	storage  file://DIR                   a local directory (storage/local)
//	         s3://…                       S3-compatible object storage (storage/s3)
//	state    file://PATH                  a JSON state file with flock locks (state/file)
//	         redis://, rediss://          Redis, shared by workers (state/redis)
//	         redis-sentinel://            Redis behind Sentinel (see internal/redisurl)
//	         (none)                       a state file under the root of file:// storage
package open
