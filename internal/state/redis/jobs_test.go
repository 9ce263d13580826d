package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/state"
)

func TestJobRecordsTTLAndIDs(t *testing.T) {
	ctx := context.Background()
	s, _ := testStore(t)
	j := s.Jobs(WithJobTTL(time.Hour))
	if created, err := j.CreateJob(ctx, "etl_1", []byte(`{"v":1}`)); err != nil || !created {
		t.Fatalf("CreateJob = %v, %v", created, err)
	}
	key := s.Prefix() + ":job:etl_1"
	if ttl := s.Client().PTTL(ctx, key).Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Fatalf("%s TTL = %s, want the jobs TTL", key, ttl)
	}
	// PutJob keeps the TTL the claim set, whatever its own Jobs' TTL.
	short := s.Jobs(WithJobTTL(10 * time.Minute))
	if _, err := short.CreateJob(ctx, "etl_short", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := j.PutJob(ctx, "etl_short", []byte(`{"state":"done"}`)); err != nil {
		t.Fatal(err)
	}
	if ttl := s.Client().PTTL(ctx, s.Prefix()+":job:etl_short").Val(); ttl <= 9*time.Minute || ttl > 10*time.Minute {
		t.Fatalf("PutJob changed the TTL to %s", ttl)
	}
	// The default TTL is 30 days.
	if _, err := s.Jobs().CreateJob(ctx, "etl_default", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if ttl := s.Client().PTTL(ctx, s.Prefix()+":job:etl_default").Val(); ttl <= 29*24*time.Hour {
		t.Fatalf("default TTL = %s, want 30 days", ttl)
	}
	// Ids that would make keys collide are refused.
	for _, id := range []string{"a:b", "", "a b"} {
		if _, err := j.CreateJob(ctx, id, nil); err == nil {
			t.Errorf("job id %q accepted", id)
		}
	}
}

func TestPutJobAfterExpiry(t *testing.T) {
	ctx := context.Background()
	s, _ := testStore(t)
	j := s.Jobs(WithJobTTL(100 * time.Millisecond))
	if _, err := j.CreateJob(ctx, "etl_1", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "job record expiring", func() bool {
		return s.Client().Exists(ctx, s.Prefix()+":job:etl_1").Val() == 0
	})
	if err := j.PutJob(ctx, "etl_1", []byte(`{"late":true}`)); !errors.Is(err, state.ErrJobNotFound) {
		t.Fatalf("PutJob of an expired job: %v, want ErrJobNotFound", err)
	}
	if n := s.Client().Exists(ctx, s.Prefix()+":job:etl_1").Val(); n != 0 {
		t.Fatal("PutJob recreated an expired job without a TTL")
	}
}

func TestListJobsDropsExpiredJobs(t *testing.T) {
	ctx := context.Background()
	s, _ := testStore(t)
	// A job that expires disappears from the list, and from the index.
	if _, err := s.Jobs(WithJobTTL(50*time.Millisecond)).CreateJob(ctx, "etl_gone", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	j := s.Jobs()
	var ids []string
	for i := range 5 {
		id := fmt.Sprintf("etl_%d", i)
		ids = append(ids, id)
		nextMillisecond()
		if _, err := j.CreateJob(ctx, id, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "job record expiring", func() bool {
		return s.Client().Exists(ctx, s.Prefix()+":job:etl_gone").Val() == 0
	})
	got, err := j.ListJobs(ctx, 0)
	slices.Reverse(ids)
	if err != nil || !slices.Equal(got, ids) {
		t.Fatalf("ListJobs = %v, %v; want %v", got, err, ids)
	}
	if n := s.Client().ZCard(ctx, s.Prefix()+":jobs").Val(); n != 5 {
		t.Errorf("index holds %d jobs, want 5", n)
	}
}

func TestCreateJobTrimsIndex(t *testing.T) {
	ctx := context.Background()
	s, _ := testStore(t)
	j := s.Jobs(WithJobTTL(100 * time.Millisecond))
	for _, id := range []string{"etl_old1", "etl_old2"} {
		if _, err := j.CreateJob(ctx, id, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "job records expiring", func() bool {
		return s.Client().Exists(ctx, s.Prefix()+":job:etl_old1", s.Prefix()+":job:etl_old2").Val() == 0
	})
	// Index entries older than the TTL go when the next job is created.
	time.Sleep(10 * time.Millisecond) // the TTL is counted in whole milliseconds
	if _, err := j.CreateJob(ctx, "etl_new", nil); err != nil {
		t.Fatal(err)
	}
	if m := s.Client().ZRange(ctx, s.Prefix()+":jobs", 0, -1).Val(); !slices.Equal(m, []string{"etl_new"}) {
		t.Fatalf("index after trim = %v", m)
	}
}

func TestFanInIsTheArtifactsHash(t *testing.T) {
	ctx := context.Background()
	s, _ := testStore(t)
	j := s.Jobs(WithJobTTL(time.Hour))
	all, err := j.PutArtifacts(ctx, "etl_1", "parcels", map[string][]byte{
		"_extraction": []byte(`{}`), "csv": []byte(`{"f":"csv"}`),
	})
	if err != nil || len(all) != 2 {
		t.Fatalf("PutArtifacts = %q, %v", all, err)
	}
	key := s.Prefix() + ":job:etl_1:artifacts:parcels"
	if h := s.Client().HGetAll(ctx, key).Val(); len(h) != 2 || h["csv"] != `{"f":"csv"}` {
		t.Fatalf("%s = %q", key, h)
	}
	if ttl := s.Client().PTTL(ctx, key).Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Fatalf("%s TTL = %s", key, ttl)
	}
	// Nothing else: no separate fan-in set.
	keys := s.Client().Keys(ctx, globEscape(s.Prefix()+":")+"*").Val()
	if !slices.Equal(keys, []string{key}) {
		t.Fatalf("keys after PutArtifacts = %v, want only %s", keys, key)
	}
}

func TestEveryJobKeyExpires(t *testing.T) {
	ctx := context.Background()
	s, _ := testStore(t)
	j := s.Jobs()
	if _, err := j.CreateJob(ctx, "etl_1", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := j.PutJob(ctx, "etl_1", []byte(`{"v":2}`)); err != nil {
		t.Fatal(err)
	}
	if err := j.PutDatasetResult(ctx, "etl_1", "d", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := j.PutArtifacts(ctx, "etl_1", "d", map[string][]byte{"csv": []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	keys := s.Client().Keys(ctx, globEscape(s.Prefix()+":job:")+"*").Val()
	if len(keys) != 3 {
		t.Fatalf("job keys = %v, want 3", keys)
	}
	for _, k := range keys {
		if ttl := s.Client().PTTL(ctx, k).Val(); ttl <= 0 {
			t.Errorf("%s has no TTL (%s)", k, ttl)
		}
	}
}

// nextMillisecond returns once the wall clock has moved on to a new
// millisecond, so that the next job has a later score in the index.
func nextMillisecond() {
	start := time.Now().UnixMilli()
	for time.Now().UnixMilli() == start {
		time.Sleep(50 * time.Microsecond)
	}
}
