// Package storage defines where CountyDataSync publishes artifacts: the
// Store interface, implemented by a local directory (subpackage local:
// files, temp names and renames, relative symlinks for "latest") and by
// S3-compatible object storage (subpackage s3, on minio-go).
//
// Keys are slash-separated paths relative to the store's root, such as
// "parcels_20250411_143042.geojson" or "manifests/etl_20250411_143042.json".
// Every write is atomic: a reader sees either nothing or the whole object
// under its final key.
package storage
