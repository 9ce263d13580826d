// Package e2e holds end-to-end tests of the countysync binary: real worker
// processes, `enqueue --wait`, SIGKILL, against the PostGIS, Redis and
// MinIO that `make test` starts. It has no code of its own.
package e2e
