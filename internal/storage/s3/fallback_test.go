package s3_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/countydatasync/countysync/internal/storage"
	"github.com/countydatasync/countysync/internal/storage/s3"
)

// fakeS3 is a minimal S3 server that rejects conditional PUTs with
// NotImplemented, like some S3-compatible stores do.
type fakeS3 struct {
	mu      sync.Mutex
	objects map[string][]byte
	condPut int
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := strings.TrimPrefix(r.URL.Path, "/")
	bucket, key, _ := strings.Cut(p, "/")
	switch {
	case bucket != "fake":
		w.WriteHeader(http.StatusNotFound)
	case key == "" && r.Method == http.MethodHead:
		w.WriteHeader(http.StatusOK)
	case r.Method == http.MethodPut && r.Header.Get("If-None-Match") != "":
		f.condPut++
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusNotImplemented)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NotImplemented</Code><Message>A header you provided implies functionality that is not implemented</Message></Error>`)
	case r.Method == http.MethodPut:
		b, _ := io.ReadAll(r.Body)
		f.objects[key] = b
		w.Header().Set("ETag", `"0123456789abcdef0123456789abcdef"`)
		w.WriteHeader(http.StatusOK)
	case r.Method == http.MethodHead || r.Method == http.MethodGet:
		b, ok := f.objects[key]
		if !ok {
			if r.Method == http.MethodGet {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusNotFound)
				io.WriteString(w, `<Error><Code>NoSuchKey</Code><Message>no</Message></Error>`)
				return
			}
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("ETag", `"0123456789abcdef0123456789abcdef"`)
		w.Header().Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			w.Write(b)
		}
	default:
		w.WriteHeader(http.StatusNotImplemented)
	}
}

func TestExclusivePutFallsBackWithoutConditionalPut(t *testing.T) {
	fake := &fakeS3{objects: map[string][]byte{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	clearCredentials(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "k")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "s")
	ctx := context.Background()
	st, err := s3.Open(ctx, "s3://fake/p?region=us-east-1&secure=false&endpoint="+strings.TrimPrefix(srv.URL, "http://"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.PutBytes(ctx, "a.csv", []byte("first")); err != nil {
		t.Fatal(err)
	}
	if err := st.PutBytes(ctx, "../x", nil); err == nil {
		t.Fatal("invalid key accepted")
	}
	err = st.Put(ctx, "a.csv", writeFile(t, st, "second"), true)
	if !errors.Is(err, storage.ErrExists) {
		t.Fatalf("exclusive put over an existing key: %v, want ErrExists", err)
	}
	if err := st.Put(ctx, "b.csv", writeFile(t, st, "b"), true); err != nil {
		t.Fatalf("exclusive put of a new key: %v", err)
	}
	if err := st.Put(ctx, "c.csv", writeFile(t, st, "c"), true); err != nil {
		t.Fatalf("exclusive put of a new key: %v", err)
	}
	if fake.condPut != 1 {
		t.Errorf("%d conditional PUTs tried, want 1 (then the fallback is remembered)", fake.condPut)
	}
	// Bodies arrive in aws-chunked encoding over plain HTTP.
	if !strings.Contains(string(fake.objects["p/a.csv"]), "\r\nfirst\r\n") || !strings.Contains(string(fake.objects["p/b.csv"]), "\r\nb\r\n") {
		t.Errorf("objects = %q", fake.objects)
	}
}

func writeFile(t *testing.T, st storage.Store, content string) string {
	t.Helper()
	f, err := os.CreateTemp(st.WorkDir(), "f-*")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(content)
	f.Close()
	return f.Name()
}
