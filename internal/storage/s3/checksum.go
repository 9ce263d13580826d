package s3

import (
	"encoding/base64"
	"encoding/hex"

	"github.com/minio/minio-go/v7"
)

// Checksums on upload.
//
// Every upload carries a SHA-256 that the server computes again and
// compares before it makes the object visible; a mismatch is refused
// (XAmzContentChecksumMismatch or BadDigest, an error worth retrying), so
// bytes changed between the hash and the server are never published.
// The client is made with TrailingHeaders, which minio-go needs for any
// x-amz-checksum-* header, and every Put asks for AutoChecksum SHA-256.
// What minio-go v7 then sends:
//
//   - A single PUT (up to PartSize) of a file whose SHA-256 the caller
//     knows (PutSHA256: the artifacts, hashed while they were rendered;
//     PutBytes: the manifests): the sum as the x-amz-checksum-sha256
//     header. minio-go hashes nothing more, and the server checks the
//     bytes against the hash taken when the file was written, so a change
//     on the local disk after rendering is caught too.
//   - A single PUT without a known sum: over TLS, minio-go hashes the
//     body as it sends it and puts the SHA-256 in a trailer; over plain
//     HTTP it signs every chunk with its SHA-256 (streaming SigV4), which
//     the server checks instead.
//   - A multipart upload (above PartSize): S3 has no whole-object SHA-256
//     for multipart objects (a full-object checksum exists only for the
//     CRC types), so minio-go hashes each part as it reads it from the
//     file, sends that part's SHA-256 in a trailer, and completes the
//     upload with the composite checksum (the SHA-256 of the parts'
//     SHA-256s). The server checks each part in transit; the whole file's
//     SHA-256 from rendering is checked after the fact by
//     `countysync verify`, which reads the object back.

// withSHA256 returns opts for an upload of size bytes whose hex SHA-256 is
// sum: the sum as a header for a single PUT; a multipart upload keeps the
// per-part SHA-256 of AutoChecksum (a whole-object header on a multipart
// upload would be sent with CreateMultipartUpload, where it means nothing).
func withSHA256(opts minio.PutObjectOptions, size int64, sum string) minio.PutObjectOptions {
	if size > int64(opts.PartSize) {
		return opts
	}
	raw, err := hex.DecodeString(sum)
	if err != nil {
		return opts
	}
	md := make(map[string]string, len(opts.UserMetadata)+1)
	for k, v := range opts.UserMetadata {
		md[k] = v
	}
	md[minio.ChecksumSHA256.Key()] = base64.StdEncoding.EncodeToString(raw)
	opts.UserMetadata = md
	return opts
}
