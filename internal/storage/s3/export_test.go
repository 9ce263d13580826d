package s3

import (
	"context"
	"time"

	"github.com/minio/minio-go/v7"
)

// StatForTest returns the ETag, Content-Type and size of key.
func (s *Store) StatForTest(ctx context.Context, key string) (etag, contentType string, size int64, err error) {
	info, err := s.client.StatObject(ctx, s.bucket, s.prefix+key, minio.StatObjectOptions{})
	return info.ETag, info.ContentType, info.Size, err
}

// BucketExistsForTest reports whether the store's bucket exists.
func (s *Store) BucketExistsForTest(ctx context.Context) (bool, error) {
	return s.client.BucketExists(ctx, s.bucket)
}

// RemoveBucketForTest empties and removes the store's bucket.
func (s *Store) RemoveBucketForTest(ctx context.Context) error {
	for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			return o.Err
		}
		if err := s.client.RemoveObject(ctx, s.bucket, o.Key, minio.RemoveObjectOptions{}); err != nil {
			return err
		}
	}
	return s.client.RemoveBucket(ctx, s.bucket)
}

// SetCopyLimitForTest makes Link use ComposeObject above limit bytes.
func SetCopyLimitForTest(limit int64) (restore func()) {
	old := copyLimit
	copyLimit = limit
	return func() { copyLimit = old }
}

// SetClaimTTLForTest changes the age at which exclusive claims go stale.
func SetClaimTTLForTest(ttl time.Duration) (restore func()) {
	old := claimTTL
	claimTTL = ttl
	return func() { claimTTL = old }
}

// ClaimForTest leaves a claim on key, as a writer that died would.
func (s *Store) ClaimForTest(ctx context.Context, key string) error {
	_, err := s.putClaim(ctx, s.prefix+claimDir+key, "")
	return err
}

// ChecksumForTest returns the SHA-256 checksum the server stored for key
// (base64, "-N" appended for a multipart object's composite checksum).
func (s *Store) ChecksumForTest(ctx context.Context, key string) (string, error) {
	info, err := s.client.StatObject(ctx, s.bucket, s.prefix+key, minio.StatObjectOptions{Checksum: true})
	return info.ChecksumSHA256, err
}

// StartUploadForTest starts a multipart upload of key and leaves it
// unfinished, as a writer that died would; it returns the upload id.
func (s *Store) StartUploadForTest(ctx context.Context, key string) (string, error) {
	return minio.Core{Client: s.client}.NewMultipartUpload(ctx, s.bucket, s.prefix+key, minio.PutObjectOptions{})
}

// UploadsForTest counts the unfinished uploads of exactly key (MinIO
// lists them by object name only).
func (s *Store) UploadsForTest(ctx context.Context, key string) (int, error) {
	n := 0
	for u := range s.client.ListIncompleteUploads(ctx, s.bucket, s.prefix+key, false) {
		if u.Err != nil {
			return 0, u.Err
		}
		if u.Key == s.prefix+key {
			n++
		}
	}
	return n, nil
}
