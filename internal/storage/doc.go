// Package storage defines where CountyDataSync publishes artifacts: the
// Store interface, implemented by a local directory (subpackage local:
// files, temp names and renames, relative symlinks for "latest") and by
// S3-compatible object storage (subpackage s3, on minio-go).
//
// Keys are slash-separated paths relative to the store's root, such as
// "parcels_20250411_143042.geojson" or "manifests/etl_20250411_143042.json".
// Every write is atomic: a reader sees either nothing or the whole object
// under its final key.
//
// # Errors
//
// A Store reports a missing key with ErrNotFound and a lost exclusive Put
// with ErrExists. Failures no retry can fix (access denied, bad
// credentials, a missing bucket, an invalid key) wrap ErrPermanent; the
// store decides that at its own edge, and callers ask IsPermanent. All
// other errors (network failures, timeouts, server errors) may go away on
// a retry.
package storage
