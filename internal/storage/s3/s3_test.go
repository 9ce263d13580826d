package s3_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/storage"
	"github.com/countydatasync/countysync/internal/storage/s3"
	"github.com/countydatasync/countysync/internal/storage/storagetest"
	"github.com/countydatasync/countysync/internal/testsvc"
)

// open opens a store on a fresh prefix of the test server.
func open(t *testing.T) *s3.Store {
	t.Helper()
	st, err := s3.Open(context.Background(), testsvc.S3(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestConformance(t *testing.T) {
	// Check for the server here: the suite opens stores inside its
	// subtests, which would all skip and leave this test passing.
	testsvc.S3Service(t)
	storagetest.Run(t, func(t *testing.T) storage.Store { return open(t) })
}

func TestParseURL(t *testing.T) {
	c, err := s3.ParseURL("s3://exports/county/a/?region=us-west-2")
	if err != nil {
		t.Fatal(err)
	}
	want := s3.Config{Bucket: "exports", Prefix: "county/a", Endpoint: s3.DefaultEndpoint, Secure: true, Region: "us-west-2"}
	if c != want {
		t.Errorf("ParseURL = %+v, want %+v", c, want)
	}
	c, err = s3.ParseURL("s3://exports?endpoint=127.0.0.1:9000&secure=false")
	if err != nil {
		t.Fatal(err)
	}
	want = s3.Config{Bucket: "exports", Endpoint: "127.0.0.1:9000", Secure: false}
	if c != want {
		t.Errorf("ParseURL = %+v, want %+v", c, want)
	}
	for _, bad := range []string{
		"file://exports",
		"s3:///prefix",
		"s3://Bad_Bucket/x",
		"s3://b/p?secure=maybe",
		"s3://b/p?endpoint=http://h:9000",
		"s3://b/p?secret_key=hunter2",
		"s3://key:hunter2@b/p",
	} {
		_, err := s3.ParseURL(bad)
		if err == nil {
			t.Errorf("ParseURL(%q) succeeded", bad)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseURL(%q) error shows the secret: %v", bad, err)
		}
		if !storage.IsPermanent(err) {
			t.Errorf("ParseURL(%q) error is not permanent: %v", bad, err)
		}
	}
}

func clearCredentials(t *testing.T) {
	for _, v := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"} {
		t.Setenv(v, "")
	}
}

func TestCredentialsMissing(t *testing.T) {
	clearCredentials(t)
	_, err := s3.Open(context.Background(), "s3://bkt/p?endpoint=127.0.0.1:1&secure=false", nil)
	if err == nil || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") || !strings.Contains(err.Error(), "MINIO_ROOT_USER") {
		t.Fatalf("Open without credentials: %v", err)
	}
	if !storage.IsPermanent(err) {
		t.Errorf("missing credentials not permanent: %v", err)
	}
	t.Setenv("MINIO_ROOT_USER", "someone")
	_, err = s3.Open(context.Background(), "s3://bkt/p?endpoint=127.0.0.1:1&secure=false", nil)
	if err == nil || !strings.Contains(err.Error(), "MINIO_ROOT_PASSWORD is not") {
		t.Fatalf("Open with half the credentials: %v", err)
	}
}

func TestUnreachableEndpointNamesIt(t *testing.T) {
	clearCredentials(t)
	const secret = "very-secret-password-42"
	t.Setenv("AWS_ACCESS_KEY_ID", "someone")
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := s3.Open(ctx, "s3://somebucket/p?endpoint=127.0.0.1:1&secure=false", nil)
	if err == nil {
		t.Fatal("Open of an unreachable endpoint succeeded")
	}
	msg := err.Error()
	if !strings.Contains(msg, "127.0.0.1:1") || !strings.Contains(msg, "somebucket") {
		t.Errorf("error does not name endpoint and bucket: %v", err)
	}
	if strings.Contains(msg, secret) {
		t.Errorf("error shows the secret: %v", err)
	}
	if storage.IsPermanent(err) {
		t.Errorf("unreachable endpoint reported permanent: %v", err)
	}
}

func TestWrongCredentialsArePermanent(t *testing.T) {
	u := testsvc.S3(t)
	srv := testsvc.S3Service(t)
	const secret = "wrong-secret-value-0123456789"
	for _, c := range []struct {
		name, id, secret string
	}{
		{"wrong secret", srv.AccessKey, secret},    // SignatureDoesNotMatch
		{"unknown key id", "nosuchuser42", secret}, // InvalidAccessKeyId
	} {
		t.Setenv("AWS_ACCESS_KEY_ID", c.id)
		t.Setenv("AWS_SECRET_ACCESS_KEY", c.secret)
		_, err := s3.Open(context.Background(), u, nil)
		t.Logf("%s: %v", c.name, err)
		if err == nil {
			t.Fatalf("%s: Open succeeded", c.name)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error shows the secret: %v", c.name, err)
		}
		if !storage.IsPermanent(err) {
			t.Errorf("%s: error is not permanent: %v", c.name, err)
		}
		if !strings.Contains(err.Error(), srv.Endpoint) {
			t.Errorf("%s: error does not name the endpoint: %v", c.name, err)
		}
	}
}

// TestMissingBucketIsPermanent removes the bucket under an open store: every
// operation then fails with NoSuchBucket, which no retry fixes, and which is
// not a missing key.
func TestMissingBucketIsPermanent(t *testing.T) {
	testsvc.S3(t) // credentials
	srv := testsvc.S3Service(t)
	bucket := strings.ReplaceAll(testsvc.RandomName("cs-gone-"), "_", "-")
	ctx := context.Background()
	st, err := s3.Open(ctx, srv.URL(bucket, "p"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.RemoveBucketForTest(ctx); err != nil {
		t.Fatal(err)
	}
	ops := map[string]func() error{
		"PutBytes": func() error { return st.PutBytes(ctx, "a.json", []byte("{}")) },
		"Put":      func() error { return st.Put(ctx, "a.csv", writeFile(t, st, "a"), false) },
		"exclusive Put": func() error {
			return st.Put(ctx, "b.csv", writeFile(t, st, "b"), true)
		},
		"Open": func() error {
			rc, err := st.Open(ctx, "a.json")
			if err == nil {
				rc.Close()
			}
			return err
		},
		"List":   func() error { _, err := st.List(ctx, ""); return err },
		"Link":   func() error { return st.Link(ctx, "a.json", "a_1.json") },
		"Delete": func() error { return st.Delete(ctx, "a.json") },
	}
	for name, op := range ops {
		err := op()
		t.Logf("%s: %v", name, err)
		if !storage.IsPermanent(err) {
			t.Errorf("%s on a missing bucket: %v, want a permanent error", name, err)
		}
		if errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrExists) {
			t.Errorf("%s on a missing bucket: %v wraps ErrNotFound or ErrExists", name, err)
		}
	}
}

func TestOpenCreatesBucket(t *testing.T) {
	testsvc.S3(t) // credentials
	srv := testsvc.S3Service(t)
	bucket := strings.ReplaceAll(testsvc.RandomName("cs-new-"), "_", "-")
	ctx := context.Background()
	st, err := s3.Open(ctx, srv.URL(bucket, "p"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t.Cleanup(func() {
		if err := st.RemoveBucketForTest(context.Background()); err != nil {
			t.Logf("remove bucket %s: %v", bucket, err)
		}
	})
	if ok, err := st.BucketExistsForTest(ctx); !ok || err != nil {
		t.Fatalf("bucket not created: %v %v", ok, err)
	}
	// A second Open finds it.
	st2, err := s3.Open(ctx, srv.URL(bucket, "p"), nil)
	if err != nil {
		t.Fatal(err)
	}
	st2.Close()
	if got, want := st.Location("a/b.csv"), "s3://"+bucket+"/p/a/b.csv"; got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
}

func writeRandom(t *testing.T, dir string, size int) (string, [32]byte) {
	t.Helper()
	data := make([]byte, size)
	rand.Read(data)
	f, err := os.CreateTemp(dir, "big-*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return f.Name(), sha256.Sum256(data)
}

func readSum(t *testing.T, st storage.Store, key string) [32]byte {
	t.Helper()
	rc, err := st.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

func TestMultipart(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	const size = 40 << 20
	p, sum := writeRandom(t, st.WorkDir(), size)
	if err := st.Put(ctx, "big_1.sqlite", p, true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("local file left after Put: %v", err)
	}
	etag, ctype, n, err := st.StatForTest(ctx, "big_1.sqlite")
	if err != nil {
		t.Fatal(err)
	}
	// A multipart ETag ends in -<parts>: 40 MiB in 16 MiB parts is 3.
	if !strings.HasSuffix(etag, "-3") || n != size || ctype != "application/vnd.sqlite3" {
		t.Errorf("etag %q size %d type %q, want a 3-part multipart upload of %d bytes", etag, n, ctype, size)
	}
	if readSum(t, st, "big_1.sqlite") != sum {
		t.Fatal("content differs after multipart upload")
	}
	// The conditional header also guards CompleteMultipartUpload.
	p2, _ := writeRandom(t, st.WorkDir(), size)
	if err := st.Put(ctx, "big_1.sqlite", p2, true); !errors.Is(err, storage.ErrExists) {
		t.Fatalf("second exclusive multipart put: %v, want ErrExists", err)
	}
	if readSum(t, st, "big_1.sqlite") != sum {
		t.Fatal("exclusive multipart put replaced the object")
	}
	keys, err := st.List(ctx, "")
	if err != nil || len(keys) != 1 {
		t.Errorf("List = %v, %v; want only big_1.sqlite", keys, err)
	}
}

// TestExclusivePutRace checks that MinIO evaluates If-None-Match atomically
// with the write: of many concurrent exclusive puts, single PUTs and
// multipart uploads mixed, exactly one wins and the rest get ErrExists.
func TestExclusivePutRace(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	for round := 0; round < 3; round++ {
		key := "race_" + string(rune('a'+round)) + ".json"
		const n = 12
		paths := make([]string, n)
		sums := make(map[[32]byte]bool)
		for i := range paths {
			size := 1 << 10
			if i%4 == 0 {
				size = 17 << 20 // multipart
			}
			var sum [32]byte
			paths[i], sum = writeRandom(t, st.WorkDir(), size)
			sums[sum] = true
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range paths {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = st.Put(ctx, key, paths[i], true)
			}()
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, storage.ErrExists):
				t.Errorf("round %d: loser got %v, want ErrExists", round, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d exclusive puts won, want 1", round, wins)
		}
		if !sums[readSum(t, st, key)] {
			t.Errorf("round %d: content matches no upload", round)
		}
	}
}

func TestStaleClaimIsTakenOver(t *testing.T) {
	defer s3.SetClaimTTLForTest(2 * time.Second)()
	st := open(t)
	ctx := context.Background()
	if err := st.ClaimForTest(ctx, "x_1.csv"); err != nil {
		t.Fatal(err)
	}
	// A live claim (another writer uploading) makes the key taken.
	err := st.Put(ctx, "x_1.csv", writeFile(t, st, "a"), true)
	if !errors.Is(err, storage.ErrExists) {
		t.Fatalf("put under a fresh claim: %v, want ErrExists", err)
	}
	if keys, _ := st.List(ctx, ""); len(keys) != 0 {
		t.Errorf("claims visible in List: %v", keys)
	}
	// Poll until the claim is stale (2 s): until then the key stays taken.
	p := writeFile(t, st, "b")
	for deadline := time.Now().Add(15 * time.Second); ; {
		err := st.Put(ctx, "x_1.csv", p, true)
		if err == nil {
			break
		}
		if !errors.Is(err, storage.ErrExists) || time.Now().After(deadline) {
			t.Fatalf("put after the claim went stale: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if keys, _ := st.List(ctx, ""); len(keys) != 1 || keys[0] != "x_1.csv" {
		t.Errorf("List = %v", keys)
	}
	if err := st.PutBytes(ctx, ".countysync/claims/y", nil); err == nil {
		t.Error("a key under the claim folder was accepted")
	}
}

func TestLatestIsServerSideCopy(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	if err := st.PutBytes(ctx, "d_1.geojson", []byte(`{"type":"FeatureCollection","features":[]}`)); err != nil {
		t.Fatal(err)
	}
	if err := st.Link(ctx, "d.geojson", "d_1.geojson"); err != nil {
		t.Fatal(err)
	}
	_, ctype, _, err := st.StatForTest(ctx, "d.geojson")
	if err != nil || ctype != "application/geo+json" {
		t.Errorf("latest content type %q, %v", ctype, err)
	}
	// A copy, not a reference: it survives the target.
	if err := st.Delete(ctx, "d_1.geojson"); err != nil {
		t.Fatal(err)
	}
	rc, err := st.Open(ctx, "d.geojson")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Contains(b, []byte("FeatureCollection")) {
		t.Errorf("latest = %q", b)
	}
	if err := st.Link(ctx, "d.geojson", "d_1.geojson"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("link to a missing target: %v, want ErrNotFound", err)
	}
}

func TestLatestLargeCopyUsesCompose(t *testing.T) {
	defer s3.SetCopyLimitForTest(0)()
	st := open(t)
	ctx := context.Background()
	p, sum := writeRandom(t, st.WorkDir(), 6<<20)
	if err := st.Put(ctx, "p_1.csv", p, true); err != nil {
		t.Fatal(err)
	}
	if err := st.Link(ctx, "p.csv", "p_1.csv"); err != nil {
		t.Fatal(err)
	}
	if readSum(t, st, "p.csv") != sum {
		t.Fatal("composed latest differs from target")
	}
	etag, ctype, _, err := st.StatForTest(ctx, "p.csv")
	if err != nil || ctype != "text/csv; charset=utf-8" || !strings.Contains(etag, "-") {
		t.Errorf("latest etag %q type %q, %v; want a multipart copy of type text/csv", etag, ctype, err)
	}
}

func TestCloseRemovesWorkDir(t *testing.T) {
	st := open(t)
	dir := st.WorkDir()
	if !strings.HasPrefix(dir, filepath.Clean(os.TempDir())) {
		t.Errorf("work dir %s not under %s", dir, os.TempDir())
	}
	if err := os.WriteFile(filepath.Join(dir, "left"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("work dir still there: %v", err)
	}
}
