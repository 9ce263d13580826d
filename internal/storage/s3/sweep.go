package s3

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/countydatasync/countysync/internal/storage"
)

var _ storage.Sweeper = (*Store)(nil)

// Leftover kinds of this store.
const (
	kindClaim  = "claim"
	kindUpload = "unfinished upload"
)

// Leftovers implements storage.Sweeper: claims of exclusive puts (under
// .countysync/claims/, hidden from List) and multipart uploads that were
// started and never completed nor aborted, last written before before.
// A live claim is refreshed every claimTTL/4, so only a dead writer's
// claim gets old. Unfinished uploads are listed by prefix, which AWS S3
// answers; MinIO lists them only by exact object name (so none are found
// there) and aborts them itself after its stale_uploads_expiry (24 h by
// default).
func (s *Store) Leftovers(ctx context.Context, before time.Time) ([]storage.Leftover, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var out []storage.Leftover
	for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + claimDir, Recursive: true}) {
		if o.Err != nil {
			return nil, s.wrap("list claims", o.Err)
		}
		if o.LastModified.Before(before) {
			out = append(out, storage.Leftover{Key: strings.TrimPrefix(o.Key, s.prefix), Kind: kindClaim, Modified: o.LastModified})
		}
	}
	for u := range s.client.ListIncompleteUploads(ctx, s.bucket, s.prefix, true) {
		if u.Err != nil {
			return nil, s.wrap("list unfinished uploads", u.Err)
		}
		if u.Initiated.Before(before) {
			out = append(out, storage.Leftover{Key: strings.TrimPrefix(u.Key, s.prefix), Kind: kindUpload, Modified: u.Initiated, ID: u.UploadID})
		}
	}
	return out, nil
}

// RemoveLeftover implements storage.Sweeper: it deletes a claim, or
// aborts one unfinished upload (not the others of the same key).
func (s *Store) RemoveLeftover(ctx context.Context, l storage.Leftover) error {
	switch l.Kind {
	case kindClaim:
		if !strings.HasPrefix(l.Key, claimDir) {
			return permanent(fmt.Errorf("invalid claim %q", l.Key))
		}
		err := s.client.RemoveObject(ctx, s.bucket, s.prefix+l.Key, minio.RemoveObjectOptions{})
		if err != nil && code(err) != "NoSuchKey" {
			return s.wrap("remove claim "+l.Key, err)
		}
		return nil
	case kindUpload:
		core := minio.Core{Client: s.client}
		err := core.AbortMultipartUpload(ctx, s.bucket, s.prefix+l.Key, l.ID)
		if err != nil && code(err) != "NoSuchUpload" {
			return s.wrap("abort unfinished upload of "+s.Location(l.Key), err)
		}
		return nil
	}
	return permanent(fmt.Errorf("unknown leftover kind %q", l.Kind))
}
