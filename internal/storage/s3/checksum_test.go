package s3_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/countydatasync/countysync/internal/storage"
	"github.com/countydatasync/countysync/internal/storage/s3"
)

func hexSum(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

func b64Sum(data []byte) string {
	s := sha256.Sum256(data)
	return base64.StdEncoding.EncodeToString(s[:])
}

// An upload whose bytes differ from the SHA-256 taken when the file was
// written (one byte flipped on the local disk after rendering) is refused
// by the server: nothing is published, the error is worth a retry, and the
// local file stays for it. The right bytes go up, and the server keeps the
// SHA-256 this test computes.
func TestPutSHA256RefusesChangedBytes(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	good := []byte("id,name\n1,Main St\n2,Oak Ave\n")
	bad := bytes.Clone(good)
	bad[10] ^= 0x01
	p := writeFile(t, st, string(bad))
	err := storage.PutSHA256(ctx, st, "parcels_20250101_000000.csv", p, hexSum(good))
	if err == nil || storage.IsPermanent(err) || errors.Is(err, storage.ErrExists) {
		t.Fatalf("put of changed bytes: %v; want a refusal worth retrying", err)
	}
	t.Logf("refused: %v", err)
	if _, err := st.Open(ctx, "parcels_20250101_000000.csv"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("refused object is readable: %v", err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("local file gone after a refused put: %v", err)
	}
	if err := os.WriteFile(p, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := storage.PutSHA256(ctx, st, "parcels_20250101_000000.csv", p, hexSum(good)); err != nil {
		t.Fatal(err)
	}
	if got, err := st.ChecksumForTest(ctx, "parcels_20250101_000000.csv"); err != nil || got != b64Sum(good) {
		t.Fatalf("stored checksum %q, %v; want %q", got, err, b64Sum(good))
	}
	// Manifests (PutBytes) carry theirs too.
	doc := []byte(`{"job_id":"etl_20250101_000000"}`)
	if err := st.PutBytes(ctx, "manifests/etl_20250101_000000.json", doc); err != nil {
		t.Fatal(err)
	}
	if got, err := st.ChecksumForTest(ctx, "manifests/etl_20250101_000000.json"); err != nil || got != b64Sum(doc) {
		t.Fatalf("manifest checksum %q, %v; want %q", got, err, b64Sum(doc))
	}
}

// A multipart upload carries each part's SHA-256; the server keeps the
// composite (the SHA-256 of the parts' SHA-256s), which this test computes
// from the file in PartSize pieces.
func TestMultipartCarriesPartChecksums(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	const size = s3.PartSize*2 + 12345
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + i/251)
	}
	p := writeFile(t, st, string(data))
	if err := storage.PutSHA256(ctx, st, "big_20250101_000000.sqlite", p, hexSum(data)); err != nil {
		t.Fatal(err)
	}
	var parts []byte
	n := 0
	for off := 0; off < size; off += s3.PartSize {
		part := sha256.Sum256(data[off:min(off+s3.PartSize, size)])
		parts = append(parts, part[:]...)
		n++
	}
	want := fmt.Sprintf("%s-%d", b64Sum(parts), n)
	if got, err := st.ChecksumForTest(ctx, "big_20250101_000000.sqlite"); err != nil || got != want {
		t.Fatalf("stored checksum %q, %v; want the composite %q", got, err, want)
	}
}
