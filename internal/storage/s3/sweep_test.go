package s3_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/storage"
)

// A dead writer's claim is a leftover once older than the cutoff, not
// before; removing it leaves the published objects. An unfinished
// multipart upload is aborted by RemoveLeftover. (MinIO lists unfinished
// uploads by exact object name only, so Leftovers finds them on AWS S3,
// not on MinIO, which aborts them itself after its stale_uploads_expiry.)
func TestLeftovers(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	if err := st.PutBytes(ctx, "a_20250101_000000.csv", []byte("x\n")); err != nil {
		t.Fatal(err)
	}
	if err := st.ClaimForTest(ctx, "b_20250101_000000.csv"); err != nil {
		t.Fatal(err)
	}
	if left, err := st.Leftovers(ctx, time.Now().Add(-time.Minute)); err != nil || len(left) != 0 {
		t.Fatalf("leftovers older than a minute: %+v, %v; want none", left, err)
	}
	left, err := st.Leftovers(ctx, time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0].Kind != "claim" || left[0].Key != ".countysync/claims/b_20250101_000000.csv" {
		t.Fatalf("leftovers %+v, want the claim", left)
	}
	if err := st.RemoveLeftover(ctx, left[0]); err != nil {
		t.Fatal(err)
	}
	if left, err := st.Leftovers(ctx, time.Now().Add(time.Minute)); err != nil || len(left) != 0 {
		t.Fatalf("after removal: %+v, %v", left, err)
	}
	if keys, err := st.List(ctx, ""); err != nil || !slices.Equal(keys, []string{"a_20250101_000000.csv"}) {
		t.Fatalf("objects after removing leftovers: %v, %v", keys, err)
	}

	id, err := st.StartUploadForTest(ctx, "c_20250101_000000.sqlite")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := st.UploadsForTest(ctx, "c_20250101_000000.sqlite"); err != nil || n != 1 {
		t.Fatalf("unfinished uploads: %d, %v", n, err)
	}
	if err := st.RemoveLeftover(ctx, storage.Leftover{Kind: "unfinished upload", Key: "c_20250101_000000.sqlite", ID: id}); err != nil {
		t.Fatal(err)
	}
	if n, err := st.UploadsForTest(ctx, "c_20250101_000000.sqlite"); err != nil || n != 0 {
		t.Fatalf("unfinished uploads after the abort: %d, %v", n, err)
	}
}
