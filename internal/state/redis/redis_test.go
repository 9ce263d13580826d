package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/countydatasync/countysync/internal/state"
	"github.com/countydatasync/countysync/internal/state/statetest"
	"github.com/countydatasync/countysync/internal/testsvc"
)

// conformanceLease is the lock lease of the stores the conformance suite
// runs on: short, so that it can check expiry, and long enough that a
// renewal (every third of it) is never late on a loaded 2-core machine
// running the suite with -race (300 ms was, once).
const conformanceLease = time.Second

func TestConformance(t *testing.T) {
	testsvc.Redis(t) // skips (fails under CI=true) before any subtest runs
	statetest.Run(t, func(t *testing.T) state.Store {
		s, _ := testStore(t, WithLease(conformanceLease))
		return s
	}, statetest.Options{Lease: conformanceLease})
}

func TestJobsConformance(t *testing.T) {
	testsvc.Redis(t)
	statetest.RunJobs(t, func(t *testing.T) state.Jobs {
		s, _ := testStore(t)
		return s.Jobs()
	})
}

func wm(job, value string) *state.Watermark {
	return &state.Watermark{Cursor: state.Cursor{Kind: "timestamptz", Value: value}, JobID: job,
		Snapshot: "snap/" + job, Rows: 1 << 60, UpdatedAt: time.Date(2025, 4, 11, 14, 30, 42, 123456789, time.UTC)}
}

func TestWatermarkKeyLayoutAndRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, _ := testStore(t)
	w := wm("etl_20250411_143042", "2025-04-11T14:30:42.123456789Z")
	if err := s.Set(ctx, "parcels", "", w); err != nil {
		t.Fatal(err)
	}
	raw, err := s.Client().Get(ctx, s.Prefix()+":wm:parcels").Bytes()
	if err != nil {
		t.Fatalf("watermark key %s:wm:parcels: %v", s.Prefix(), err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil || doc["job_id"] != w.JobID {
		t.Fatalf("stored watermark is not the JSON watermark: %s (%v)", raw, err)
	}
	got, err := s.Get(ctx, "parcels")
	if err != nil {
		t.Fatal(err)
	}
	if *got != *w {
		t.Fatalf("round trip lost precision:\n got %+v\nwant %+v", got, w)
	}
	// A watermark never expires.
	if ttl := s.Client().PTTL(ctx, s.Prefix()+":wm:parcels").Val(); ttl != -1 {
		t.Errorf("watermark has a TTL: %s", ttl)
	}
}

func TestResetIsNotDeletion(t *testing.T) {
	ctx := context.Background()
	s, _ := testStore(t)
	// Resetting a dataset that never ran also leaves an empty watermark.
	if err := s.Reset(ctx, "roads"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "roads")
	if err != nil || got == nil || !got.Cursor.IsZero() || !strings.HasPrefix(got.JobID, "reset_") {
		t.Fatalf("after reset: %+v, %v", got, err)
	}
	names, err := s.List(ctx)
	if err != nil || len(names) != 1 || names[0] != "roads" {
		t.Fatalf("List = %v, %v", names, err)
	}
	// A stale run that started before the reset cannot overwrite it.
	if err := s.Set(ctx, "roads", "", wm("etl_1", "2025-01-01T00:00:00Z")); !errors.Is(err, state.ErrConflict) {
		t.Fatalf("Set from no watermark over a reset one: %v, want ErrConflict", err)
	}
}

func TestListIgnoresOtherPrefixesAndGlobs(t *testing.T) {
	ctx := context.Background()
	s, _ := testStore(t)
	other := NewFromClient(s.Client(), s.Prefix()+"x")
	star := NewFromClient(s.Client(), s.Prefix()+"*")
	for _, st := range []*Store{other, star} {
		if err := st.Set(ctx, "foreign", "", wm("etl_1", "2025-01-01T00:00:00Z")); err != nil {
			t.Fatal(err)
		}
		defer st.Client().Del(ctx, st.wmKey("foreign"))
	}
	for _, d := range []string{"b", "a", "c:d"} {
		if err := s.Set(ctx, d, "", wm("etl_1", "2025-01-01T00:00:00Z")); err != nil {
			t.Fatal(err)
		}
	}
	names, err := s.List(ctx)
	if err != nil || strings.Join(names, ",") != "a,b,c:d" {
		t.Fatalf("List = %v, %v", names, err)
	}
	names, err = star.List(ctx)
	if err != nil || strings.Join(names, ",") != "foreign" {
		t.Fatalf("List with a glob character in the prefix = %v, %v", names, err)
	}
}

func TestCorruptWatermark(t *testing.T) {
	ctx := context.Background()
	s, _ := testStore(t)
	if err := s.Client().Set(ctx, s.wmKey("d"), "{not json", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "d"); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("Get of a corrupt watermark: %v", err)
	}
	if err := s.Set(ctx, "d", "", wm("etl_1", "2025-01-01T00:00:00Z")); err == nil || errors.Is(err, state.ErrConflict) {
		t.Fatalf("Set over a corrupt watermark: %v, want a non-conflict error", err)
	}
	if err := s.Reset(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "d"); err != nil || got == nil {
		t.Fatalf("after reset: %v, %v", got, err)
	}
}

func TestCASUnderConcurrentSetters(t *testing.T) {
	ctx := context.Background()
	s, _ := testStore(t)
	if err := s.Set(ctx, "d", "", wm("etl_0", "2025-01-01T00:00:00Z")); err != nil {
		t.Fatal(err)
	}
	for round := 1; round <= 3; round++ {
		prev, _ := s.Get(ctx, "d")
		var wg sync.WaitGroup
		var mu sync.Mutex
		var winners []string
		conflicts := 0
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				job := fmt.Sprintf("etl_%d_%d", round, i)
				err := s.Set(ctx, "d", prev.JobID, wm(job, "2025-01-02T00:00:00Z"))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					winners = append(winners, job)
				case errors.Is(err, state.ErrConflict):
					conflicts++
				default:
					t.Errorf("Set: %v", err)
				}
			}()
		}
		wg.Wait()
		if len(winners) != 1 || conflicts != 7 {
			t.Fatalf("round %d: winners %v, %d conflicts; want 1 and 7", round, winners, conflicts)
		}
		if got, _ := s.Get(ctx, "d"); got.JobID != winners[0] {
			t.Fatalf("round %d: stored %s, winner %s", round, got.JobID, winners[0])
		}
	}
}

func TestOpenErrorsNeverShowThePassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	base, err := url.Parse(testsvc.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	const secret = "s3cr3tPa55"
	withUser := func(u url.URL, port string) string {
		u.User = url.UserPassword("someone", secret)
		if port != "" {
			u.Host = u.Hostname() + ":" + port
		}
		return u.String()
	}
	cases := []struct {
		name, url, want string
	}{
		{"wrong password", withUser(*base, ""), base.Host},
		{"nothing listening", withUser(*base, "1"), base.Hostname() + ":1"},
		{"bad scheme", "http://u:" + secret + "@" + base.Host + "/1", "redis://"},
		{"bad db", "redis://u:" + secret + "@" + base.Host + "/x", "database"},
		{"unparsable", "redis://u:" + secret + "@" + base.Host + "/1\x7f%zz", "invalid Redis URL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Open(ctx, c.url, "cstest", nil)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", c.url)
			}
			msg := err.Error()
			if strings.Contains(msg, secret) {
				t.Fatalf("error shows the password: %s", msg)
			}
			if !strings.Contains(msg, c.want) {
				t.Fatalf("error %q does not name %q", msg, c.want)
			}
		})
	}
}

func TestOpenDBNumberAndPrefix(t *testing.T) {
	ctx := context.Background()
	s, _ := testStore(t)
	u, _ := url.Parse(testsvc.Redis(t))
	wantDB := strings.TrimPrefix(u.Path, "/")
	s2, err := Open(ctx, u.String(), s.Prefix()+":", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if s2.Prefix() != s.Prefix() {
		t.Errorf("trailing colon kept: %q", s2.Prefix())
	}
	if db := s2.Client().(*goredis.Client).Options().DB; fmt.Sprint(db) != wantDB {
		t.Errorf("connected to DB %d, want %s", db, wantDB)
	}
	if NewFromClient(s.Client(), "").Prefix() != DefaultPrefix {
		t.Error("empty prefix is not the default")
	}
}
