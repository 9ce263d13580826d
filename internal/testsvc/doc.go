// Package testsvc gives integration tests isolated access to the real
// services that `make test` starts (see docs/ARCHITECTURE.md, Test
// services): a fresh PostgreSQL database with PostGIS per test, a Redis DB
// number or key prefix, a MinIO bucket. Tests find the services through
// COUNTYSYNC_TEST_PG, COUNTYSYNC_TEST_REDIS and COUNTYSYNC_TEST_S3. When a
// variable is unset the test is skipped, except under CI=true, where it
// fails: CI never passes by skipping.
package testsvc
