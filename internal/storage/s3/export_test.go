package s3

import (
	"context"

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
