package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestJobRecords(t *testing.T) {
	ctx := context.Background()
	s, _ := testStore(t)
	j := s.Jobs(WithJobTTL(time.Hour))
	created, err := j.CreateJob(ctx, "etl_1", []byte(`{"v":1}`), 0)
	if err != nil || !created {
		t.Fatalf("CreateJob = %v, %v", created, err)
	}
	created, err = j.CreateJob(ctx, "etl_1", []byte(`{"v":2}`), 0)
	if err != nil || created {
		t.Fatalf("second CreateJob of the same id = %v, %v; want false", created, err)
	}
	doc, err := j.GetJob(ctx, "etl_1")
	if err != nil || string(doc) != `{"v":1}` {
		t.Fatalf("GetJob = %s, %v", doc, err)
	}
	key := s.Prefix() + ":job:etl_1"
	if ttl := s.Client().PTTL(ctx, key).Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Fatalf("%s TTL = %s, want the jobs TTL", key, ttl)
	}
	// PutJob keeps the TTL the claim set.
	if _, err := j.CreateJob(ctx, "etl_short", []byte(`{}`), 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := j.PutJob(ctx, "etl_short", []byte(`{"state":"done"}`)); err != nil {
		t.Fatal(err)
	}
	if ttl := s.Client().PTTL(ctx, s.Prefix()+":job:etl_short").Val(); ttl <= 9*time.Minute || ttl > 10*time.Minute {
		t.Fatalf("PutJob changed the TTL to %s", ttl)
	}
	if doc, _ := j.GetJob(ctx, "etl_short"); string(doc) != `{"state":"done"}` {
		t.Fatalf("after PutJob: %s", doc)
	}
	if _, err := j.GetJob(ctx, "etl_missing"); !errors.Is(err, ErrJobNotFound) {
		t.Fatalf("GetJob of a missing job: %v, want ErrJobNotFound", err)
	}
	if _, err := j.CreateJob(ctx, "a:b", nil, 0); err == nil {
		t.Fatal("job id with a colon accepted")
	}
}

func TestListJobsNewestFirst(t *testing.T) {
	ctx := context.Background()
	s, _ := testStore(t)
	j := s.Jobs()
	var ids []string
	for i := range 5 {
		id := fmt.Sprintf("etl_%d", i)
		ids = append(ids, id)
		if i == 2 {
			// PutJob of an unknown id creates and indexes it.
			if err := j.PutJob(ctx, id, []byte(`{}`)); err != nil {
				t.Fatal(err)
			}
		} else if _, err := j.CreateJob(ctx, id, []byte(`{}`), 0); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Millisecond) // distinct scores
	}
	// A job that expires disappears from the list, and from the index.
	if _, err := j.CreateJob(ctx, "etl_gone", []byte(`{}`), 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	got, err := j.ListJobs(ctx, 0)
	slices.Reverse(ids)
	if err != nil || !slices.Equal(got, ids) {
		t.Fatalf("ListJobs = %v, %v; want %v", got, err, ids)
	}
	if n := s.Client().ZCard(ctx, s.Prefix()+":jobs").Val(); n != 5 {
		t.Errorf("index holds %d jobs, want 5", n)
	}
	got, err = j.ListJobs(ctx, 2)
	if err != nil || !slices.Equal(got, ids[:2]) {
		t.Fatalf("ListJobs(2) = %v, %v", got, err)
	}
	if ttl := s.Client().PTTL(ctx, s.Prefix()+":job:etl_2").Val(); ttl <= 29*24*time.Hour {
		t.Fatalf("default TTL = %s, want 30 days", ttl)
	}
}

func TestListJobsTrimsIndex(t *testing.T) {
	ctx := context.Background()
	s, _ := testStore(t)
	j := s.Jobs(WithJobTTL(100 * time.Millisecond))
	for _, id := range []string{"etl_old1", "etl_old2"} {
		if _, err := j.CreateJob(ctx, id, nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if _, err := j.CreateJob(ctx, "etl_new", nil, time.Minute); err != nil {
		t.Fatal(err)
	}
	if m := s.Client().ZRange(ctx, s.Prefix()+":jobs", 0, -1).Val(); !slices.Equal(m, []string{"etl_new"}) {
		t.Fatalf("index after trim = %v", m)
	}
}

func TestDatasetResults(t *testing.T) {
	ctx := context.Background()
	s, _ := testStore(t)
	j := s.Jobs()
	if m, err := j.DatasetResults(ctx, "etl_1"); err != nil || len(m) != 0 {
		t.Fatalf("no results = %v, %v", m, err)
	}
	for _, d := range []string{"parcels", "roads", "parcels"} {
		if err := j.PutDatasetResult(ctx, "etl_1", d, []byte(`{"dataset":"`+d+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	m, err := j.DatasetResults(ctx, "etl_1")
	if err != nil || len(m) != 2 || string(m["roads"]) != `{"dataset":"roads"}` {
		t.Fatalf("DatasetResults = %q, %v", m, err)
	}
	if ttl := s.Client().PTTL(ctx, s.Prefix()+":job:etl_1:datasets").Val(); ttl <= 0 {
		t.Fatalf("results hash has no TTL (%s)", ttl)
	}
}

func TestArtifactFanIn(t *testing.T) {
	ctx := context.Background()
	s, _ := testStore(t)
	j := s.Jobs(WithJobTTL(time.Hour))
	formats := []string{"sqlite", "csv", "json", "geojson"}
	for round := range 5 {
		job := fmt.Sprintf("etl_%d", round)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var seen []int64
		for _, f := range formats {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := j.PutArtifact(ctx, job, "parcels", f, []byte(`{"format":"`+f+`"}`))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seen = append(seen, n)
				mu.Unlock()
			}()
		}
		wg.Wait()
		slices.Sort(seen)
		if !slices.Equal(seen, []int64{1, 2, 3, 4}) {
			t.Fatalf("round %d: counts %v, want each of 1..4 once (exactly one export sees 4)", round, seen)
		}
	}
	// A redelivered export replaces its document and does not count twice.
	n, err := j.PutArtifact(ctx, "etl_0", "parcels", "csv", []byte(`{"format":"csv","again":true}`))
	if err != nil || n != 4 {
		t.Fatalf("duplicate PutArtifact = %d, %v; want 4", n, err)
	}
	if n, _ := j.PutArtifact(ctx, "etl_x", "roads", "csv", nil); n != 1 {
		t.Fatalf("first = %d", n)
	}
	if n, _ := j.PutArtifact(ctx, "etl_x", "roads", "csv", nil); n != 1 {
		t.Fatalf("duplicate before completion = %d, want 1", n)
	}
	arts, err := j.Artifacts(ctx, "etl_0", "parcels")
	if err != nil || len(arts) != 4 || string(arts["csv"]) != `{"format":"csv","again":true}` {
		t.Fatalf("Artifacts = %q, %v", arts, err)
	}
	done, err := j.DoneFormats(ctx, "etl_0", "parcels")
	slices.Sort(done)
	if err != nil || !slices.Equal(done, []string{"csv", "geojson", "json", "sqlite"}) {
		t.Fatalf("DoneFormats = %v, %v", done, err)
	}
	// Several formats recorded at once count once each, with the extraction.
	if n, err := j.PutArtifacts(ctx, "etl_y", "lakes", map[string][]byte{"_extraction": []byte(`{}`), "csv": []byte(`{"c":1}`), "json": []byte(`{"j":1}`)}); err != nil || n != 3 {
		t.Fatalf("PutArtifacts = %d, %v; want 3", n, err)
	}
	if n, _ := j.PutArtifacts(ctx, "etl_y", "lakes", map[string][]byte{"csv": []byte(`{"c":2}`), "sqlite": nil}); n != 4 {
		t.Fatalf("PutArtifacts again = %d, want 4 (csv replaced, sqlite added)", n)
	}
	if arts, _ := j.Artifacts(ctx, "etl_y", "lakes"); len(arts) != 4 || string(arts["csv"]) != `{"c":2}` {
		t.Fatalf("Artifacts after PutArtifacts = %q", arts)
	}
	if _, err := j.PutArtifacts(ctx, "etl_y", "lakes", nil); err == nil {
		t.Fatal("PutArtifacts with nothing succeeded")
	}
	// Datasets of one job are independent.
	if arts, _ := j.Artifacts(ctx, "etl_0", "roads"); len(arts) != 0 {
		t.Fatalf("roads artifacts = %q", arts)
	}
	// Every job key expires.
	for _, key := range []string{":job:etl_0:artifacts:parcels", ":job:etl_0:done:parcels"} {
		if ttl := s.Client().PTTL(ctx, s.Prefix()+key).Val(); ttl <= 59*time.Minute {
			t.Errorf("%s TTL = %s", key, ttl)
		}
	}
}

func TestEveryJobKeyExpires(t *testing.T) {
	ctx := context.Background()
	s, _ := testStore(t)
	j := s.Jobs()
	if _, err := j.CreateJob(ctx, "etl_1", []byte(`{}`), 0); err != nil {
		t.Fatal(err)
	}
	if err := j.PutJob(ctx, "etl_2", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := j.PutDatasetResult(ctx, "etl_1", "d", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := j.PutArtifact(ctx, "etl_1", "d", "csv", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	keys := s.Client().Keys(ctx, globEscape(s.Prefix()+":job:")+"*").Val()
	if len(keys) != 5 {
		t.Fatalf("job keys = %v, want 5", keys)
	}
	for _, k := range keys {
		if ttl := s.Client().PTTL(ctx, k).Val(); ttl <= 0 {
			t.Errorf("%s has no TTL (%s)", k, ttl)
		}
	}
}
