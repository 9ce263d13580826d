package redis

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/testsvc"
)

// syncBuffer is a log destination the renewer goroutines can write to
// while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testStore opens a store on the test Redis with a random prefix and
// deletes the prefix's keys (only those) when the test ends.
func testStore(t *testing.T, opts ...Option) (*Store, *syncBuffer) {
	t.Helper()
	ctx := context.Background()
	url := testsvc.Redis(t)
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := Open(ctx, url, testsvc.RandomName("cstest_"), log, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var keys []string
		iter := s.Client().Scan(ctx, 0, globEscape(s.Prefix()+":")+"*", 500).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Logf("scan test keys: %v", err)
		}
		if len(keys) > 0 {
			if err := s.Client().Del(ctx, keys...).Err(); err != nil {
				t.Logf("delete test keys: %v", err)
			}
		}
		if err := s.Close(); err != nil {
			t.Logf("close: %v", err)
		}
	})
	return s, logs
}

// waitFor polls cond until it holds, failing the test if it does not
// within timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// renewing returns how many of the store's locks have a running renewer.
func renewing(s *Store) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.locks)
}
