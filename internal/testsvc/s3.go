package testsvc

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/storage/s3"
)

// DefaultS3Bucket is the bucket S3 uses when COUNTYSYNC_TEST_S3 names none.
const DefaultS3Bucket = "countysync-test"

// S3Server is the S3-compatible server (MinIO) named by COUNTYSYNC_TEST_S3.
type S3Server struct {
	Endpoint  string // host:port
	Secure    bool   // https
	AccessKey string
	SecretKey string
	Bucket    string // the shared test bucket; tests use their own prefix in it
}

// S3Service parses COUNTYSYNC_TEST_S3, which has the form
//
//	http://ACCESS_KEY:SECRET_KEY@127.0.0.1:9000[/BUCKET]
//
// (https for TLS; BUCKET defaults to DefaultS3Bucket). It skips the test
// when the variable is unset, or fails it under CI=true (see Need).
func S3Service(t testing.TB) S3Server {
	t.Helper()
	raw := Need(t, "COUNTYSYNC_TEST_S3")
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User == nil {
		// Do not print the value: it holds the secret key.
		t.Fatalf("COUNTYSYNC_TEST_S3 must look like http://ACCESS_KEY:SECRET_KEY@HOST:PORT[/BUCKET]")
	}
	secret, _ := u.User.Password()
	srv := S3Server{
		Endpoint:  u.Host,
		Secure:    u.Scheme == "https",
		AccessKey: u.User.Username(),
		SecretKey: secret,
		Bucket:    strings.Trim(u.Path, "/"),
	}
	if srv.Bucket == "" {
		srv.Bucket = DefaultS3Bucket
	}
	return srv
}

// URL returns the s3:// storage URL of prefix in the server's bucket.
func (srv S3Server) URL(bucket, prefix string) string {
	q := url.Values{}
	q.Set("endpoint", srv.Endpoint)
	if !srv.Secure {
		q.Set("secure", "false")
	}
	u := url.URL{Scheme: "s3", Host: bucket, Path: "/" + prefix, RawQuery: q.Encode()}
	return u.String()
}

// S3 gives the test a fresh, empty prefix in the test bucket of the server
// named by COUNTYSYNC_TEST_S3 and returns its storage URL,
// s3://BUCKET/PREFIX?endpoint=HOST:PORT&secure=false. It sets
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the test (t.Setenv, so
// the test must not be parallel; subprocesses inherit them) and deletes
// every object under the prefix when the test ends.
func S3(t testing.TB) string {
	t.Helper()
	srv := S3Service(t)
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	u := srv.URL(srv.Bucket, RandomName("t_"))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		st, err := s3.Open(ctx, u, nil)
		if err != nil {
			t.Logf("clean test prefix: %v", err)
			return
		}
		defer st.Close()
		keys, err := st.List(ctx, "")
		if err != nil {
			t.Logf("clean test prefix: %v", err)
		}
		for _, k := range keys {
			if err := st.Delete(ctx, k); err != nil {
				t.Logf("clean test prefix: %v", err)
			}
		}
	})
	return u
}
