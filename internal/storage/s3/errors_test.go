package s3_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/countydatasync/countysync/internal/storage"
	"github.com/countydatasync/countysync/internal/storage/s3"
)

// errorServer is an S3 server whose bucket exists but which answers every
// other request with one S3 error.
func errorServer(t *testing.T, code string, status int) *s3.Store {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodHead && strings.Trim(r.URL.Path, "/") == "bkt" {
			w.WriteHeader(http.StatusOK)
			return
		}
		// HEAD responses have no body: minio-go reads code and message
		// from these headers, as MinIO sends them.
		w.Header().Set("x-minio-error-code", code)
		w.Header().Set("x-minio-error-desc", `"`+code+` from the test server"`)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>`+code+`</Code><Message>`+code+` from the test server</Message></Error>`)
		}
	}))
	t.Cleanup(srv.Close)
	clearCredentials(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "k")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "the-secret-key-0123")
	st, err := s3.Open(context.Background(), "s3://bkt/p?region=us-east-1&secure=false&endpoint="+strings.TrimPrefix(srv.URL, "http://"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestServerErrorsAtTheEdge checks how the store translates S3 error codes,
// without MinIO: codes no retry fixes become storage.ErrPermanent, the
// others do not.
func TestServerErrorsAtTheEdge(t *testing.T) {
	cases := []struct {
		code      string
		status    int
		permanent bool
	}{
		{"AccessDenied", http.StatusForbidden, true},
		{"InvalidAccessKeyId", http.StatusForbidden, true},
		{"SignatureDoesNotMatch", http.StatusForbidden, true},
		{"NoSuchBucket", http.StatusNotFound, true},
		{"InvalidBucketName", http.StatusBadRequest, true},
		{"XMinioStorageFull", http.StatusInsufficientStorage, false},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			st := errorServer(t, c.code, c.status)
			ctx := context.Background()
			ops := map[string]func() error{
				"PutBytes": func() error { return st.PutBytes(ctx, "a.json", []byte("{}")) },
				"Open": func() error {
					rc, err := st.Open(ctx, "a.json")
					if err == nil {
						rc.Close()
					}
					return err
				},
				"List": func() error { _, err := st.List(ctx, ""); return err },
			}
			for name, op := range ops {
				err := op()
				if err == nil {
					t.Fatalf("%s succeeded", name)
				}
				if got := storage.IsPermanent(err); got != c.permanent {
					t.Errorf("%s: %v: permanent %v, want %v", name, err, got, c.permanent)
				}
				if errors.Is(err, storage.ErrNotFound) {
					t.Errorf("%s: %v wraps ErrNotFound", name, err)
				}
				if !strings.Contains(err.Error(), c.code) {
					t.Errorf("%s: %v does not keep the server's message", name, err)
				}
				if strings.Contains(err.Error(), "the-secret-key-0123") {
					t.Errorf("%s: error shows the secret: %v", name, err)
				}
			}
		})
	}
	t.Run("NoSuchKey", func(t *testing.T) {
		st := errorServer(t, "NoSuchKey", http.StatusNotFound)
		_, err := st.Open(context.Background(), "a.json")
		if !errors.Is(err, storage.ErrNotFound) || storage.IsPermanent(err) {
			t.Errorf("missing key: %v, want ErrNotFound and not permanent", err)
		}
	})
}
