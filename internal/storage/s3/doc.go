// Package s3 implements storage.Store on S3-compatible object storage
// (MinIO, AWS S3) with minio-go. It is the only package that imports
// minio-go.
//
// # URL
//
//	s3://BUCKET[/PREFIX]?endpoint=HOST[:PORT]&secure=true|false&region=REGION
//
// endpoint defaults to s3.amazonaws.com and secure to true. Every key lives
// under PREFIX; List and Location hide and show it respectively. The URL
// carries no secrets: credentials come from the environment, either
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN when
// set) or, if those are unset, MINIO_ROOT_USER and MINIO_ROOT_PASSWORD.
// Secrets never appear in errors or logs.
//
// Open checks that the endpoint answers and that the bucket exists,
// creating it when it does not.
//
// # Atomicity
//
// Put uploads a local file with a single PUT below PartSize (16 MiB) and
// a multipart upload above it; S3 makes an object visible only when the
// PUT or the CompleteMultipartUpload succeeds, so a partial upload is
// never seen under its key (a failed multipart upload is aborted).
//
// An exclusive Put must let exactly one of any number of concurrent
// writers of a key succeed. MinIO evaluates "If-None-Match: *" atomically
// for a single PUT, but not for CompleteMultipartUpload (concurrent
// conditional multipart uploads of one key were all seen to succeed), so an
// exclusive Put first claims the key with a conditional single PUT of a
// small claim object under .countysync/claims/ (hidden from List), then
// uploads with If-None-Match: * (which catches a key written earlier) and
// deletes the claim. Losers get storage.ErrExists, which therefore means
// "the key exists or another writer is publishing it". The holder refreshes
// its claim every 30 s; a claim older than 2 minutes belongs to a writer
// that died and is taken over (conditional on its ETag), so a crash delays
// the next exclusive Put of that key by at most 2 minutes. Writers' clocks
// must agree to well within that.
//
// Servers that answer If-None-Match with NotImplemented get a fallback
// (StatObject, then an unconditional PUT) with a race window: two writers
// that both see the key missing both write, the last one winning. A
// warning is logged once when the fallback is used.
//
// Every upload carries a SHA-256 that the server checks before the object
// becomes visible: the caller's (PutSHA256, the artifacts hashed while
// rendering; PutBytes) as a header on a single PUT, or one per part of a
// multipart upload. See checksum.go for what minio-go sends when.
//
// Link makes the "latest" name a server-side copy of the target
// (ComposeObject, which is a plain CopyObject up to 5 GiB and a multipart
// copy above), so it is replaced atomically too.
//
// # Errors
//
// Errors are wrapped with %w: storage.ErrNotFound for a missing key,
// storage.ErrExists for a lost exclusive Put, and minio.ErrorResponse
// underneath for everything the server said. Errors no retry can fix wrap
// storage.ErrPermanent (test with storage.IsPermanent): the S3 codes
// AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch, NoSuchBucket,
// InvalidBucketName and the others in permanentCodes, an invalid key, URL
// or endpoint, and missing credentials. A missing key, a lost exclusive
// Put, an unreachable endpoint, timeouts and server errors are not
// permanent. Messages never contain the secret key.
package s3
