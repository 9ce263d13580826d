package statetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/state"
)

// RunJobs runs the conformance suite of state.Jobs against job stores
// made by open; each call must return an empty, isolated store.
func RunJobs(t *testing.T, open func(t *testing.T) state.Jobs) {
	ctx := context.Background()

	getJob := func(t *testing.T, j state.Jobs, id string) string {
		t.Helper()
		doc, err := j.GetJob(ctx, id)
		if err != nil {
			t.Fatalf("GetJob(%s): %v", id, err)
		}
		return string(doc)
	}
	createJob := func(t *testing.T, j state.Jobs, id, doc string) {
		t.Helper()
		created, err := j.CreateJob(ctx, id, []byte(doc))
		if err != nil || !created {
			t.Fatalf("CreateJob(%s) = %v, %v; want true", id, created, err)
		}
	}

	t.Run("CreateJobClaimsTheIDOnce", func(t *testing.T) {
		j := open(t)
		createJob(t, j, "etl_1", `{"v":1}`)
		created, err := j.CreateJob(ctx, "etl_1", []byte(`{"v":2}`))
		if err != nil || created {
			t.Fatalf("second CreateJob of the same id = %v, %v; want false", created, err)
		}
		if doc := getJob(t, j, "etl_1"); doc != `{"v":1}` {
			t.Fatalf("the second CreateJob replaced the document: %s", doc)
		}
		// Of concurrent claims, exactly one wins.
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				created, err := j.CreateJob(ctx, "etl_race", []byte(strconv.Itoa(i)))
				if err != nil {
					t.Error(err)
				}
				if created {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d concurrent CreateJob calls claimed the id, want 1", wins)
		}
	})

	t.Run("PutJobReplaces", func(t *testing.T) {
		j := open(t)
		createJob(t, j, "etl_1", `{"status":"queued"}`)
		if err := j.PutJob(ctx, "etl_1", []byte(`{"status":"running"}`)); err != nil {
			t.Fatal(err)
		}
		if doc := getJob(t, j, "etl_1"); doc != `{"status":"running"}` {
			t.Fatalf("after PutJob: %s", doc)
		}
		if err := j.PutJob(ctx, "etl_1", []byte(`{"status":"succeeded"}`)); err != nil {
			t.Fatal(err)
		}
		if doc := getJob(t, j, "etl_1"); doc != `{"status":"succeeded"}` {
			t.Fatalf("after second PutJob: %s", doc)
		}
	})

	t.Run("MissingJob", func(t *testing.T) {
		j := open(t)
		if doc, err := j.GetJob(ctx, "etl_missing"); !errors.Is(err, state.ErrJobNotFound) {
			t.Fatalf("GetJob of a missing job = %q, %v; want an error wrapping ErrJobNotFound", doc, err)
		}
		if err := j.PutJob(ctx, "etl_missing", []byte(`{}`)); !errors.Is(err, state.ErrJobNotFound) {
			t.Fatalf("PutJob of a missing job: %v, want an error wrapping ErrJobNotFound", err)
		}
		// PutJob did not create it.
		if _, err := j.GetJob(ctx, "etl_missing"); !errors.Is(err, state.ErrJobNotFound) {
			t.Fatalf("GetJob after a failed PutJob: %v", err)
		}
		if ids, err := j.ListJobs(ctx, 0); err != nil || len(ids) != 0 {
			t.Fatalf("ListJobs = %v, %v; want none", ids, err)
		}
	})

	t.Run("ListJobsNewestFirst", func(t *testing.T) {
		j := open(t)
		if ids, err := j.ListJobs(ctx, 0); err != nil || len(ids) != 0 {
			t.Fatalf("ListJobs of an empty store = %v, %v", ids, err)
		}
		// Created in an order that is neither the ids' order nor its
		// reverse, each in a millisecond of its own (stores may order by
		// the creation time).
		order := []string{"etl_c", "etl_a", "etl_d", "etl_b"}
		for _, id := range order {
			nextMillisecond()
			createJob(t, j, id, `{}`)
		}
		// Updating a job does not move it.
		if err := j.PutJob(ctx, "etl_a", []byte(`{"status":"done"}`)); err != nil {
			t.Fatal(err)
		}
		newest := slices.Clone(order)
		slices.Reverse(newest)
		for _, limit := range []int{0, -1, 10, 4, 2, 1} {
			want := newest
			if limit > 0 && limit < len(want) {
				want = want[:limit]
			}
			ids, err := j.ListJobs(ctx, limit)
			if err != nil || !slices.Equal(ids, want) {
				t.Fatalf("ListJobs(%d) = %v, %v; want %v", limit, ids, err, want)
			}
		}
	})

	t.Run("DatasetResults", func(t *testing.T) {
		j := open(t)
		createJob(t, j, "etl_1", `{}`)
		if m, err := j.DatasetResults(ctx, "etl_1"); err != nil || len(m) != 0 {
			t.Fatalf("results before any = %q, %v", m, err)
		}
		for _, r := range []struct{ dataset, doc string }{
			{"parcels", `{"rows":1}`}, {"roads", `{"rows":2}`}, {"parcels", `{"rows":3}`},
		} {
			if err := j.PutDatasetResult(ctx, "etl_1", r.dataset, []byte(r.doc)); err != nil {
				t.Fatal(err)
			}
		}
		want := map[string]string{"parcels": `{"rows":3}`, "roads": `{"rows":2}`}
		m, err := j.DatasetResults(ctx, "etl_1")
		if err != nil || !sameDocs(m, want) {
			t.Fatalf("DatasetResults = %q, %v; want %q", m, err, want)
		}
		// Jobs are independent.
		if m, err := j.DatasetResults(ctx, "etl_2"); err != nil || len(m) != 0 {
			t.Fatalf("results of another job = %q, %v", m, err)
		}
	})

	t.Run("PutArtifactsReturnsEveryRecord", func(t *testing.T) {
		j := open(t)
		all, err := j.PutArtifacts(ctx, "etl_1", "parcels", map[string][]byte{
			"_extraction": []byte(`{"rows":10}`), "csv": []byte(`{"f":"csv"}`),
		})
		want := map[string]string{"_extraction": `{"rows":10}`, "csv": `{"f":"csv"}`}
		if err != nil || !sameDocs(all, want) {
			t.Fatalf("first PutArtifacts = %q, %v; want %q", all, err, want)
		}
		all, err = j.PutArtifacts(ctx, "etl_1", "parcels", map[string][]byte{"json": []byte(`{"f":"json"}`)})
		want["json"] = `{"f":"json"}`
		if err != nil || !sameDocs(all, want) {
			t.Fatalf("second PutArtifacts = %q, %v; want %q", all, err, want)
		}
		// A member stored again (a redelivered step) is replaced, not added.
		all, err = j.PutArtifacts(ctx, "etl_1", "parcels", map[string][]byte{
			"csv": []byte(`{"f":"csv","again":true}`), "gpkg": []byte(`{"f":"gpkg"}`),
		})
		want["csv"], want["gpkg"] = `{"f":"csv","again":true}`, `{"f":"gpkg"}`
		if err != nil || !sameDocs(all, want) {
			t.Fatalf("PutArtifacts replacing a member = %q, %v; want %q", all, err, want)
		}
		got, err := j.Artifacts(ctx, "etl_1", "parcels")
		if err != nil || !sameDocs(got, want) {
			t.Fatalf("Artifacts = %q, %v; want %q", got, err, want)
		}
		// Datasets and jobs are independent; an unknown one is empty.
		for _, c := range []struct{ job, dataset string }{{"etl_1", "roads"}, {"etl_2", "parcels"}, {"etl_9", "nothing"}} {
			if got, err := j.Artifacts(ctx, c.job, c.dataset); err != nil || len(got) != 0 {
				t.Fatalf("Artifacts(%s, %s) = %q, %v; want none", c.job, c.dataset, got, err)
			}
		}
		if _, err := j.PutArtifacts(ctx, "etl_1", "parcels", nil); err == nil {
			t.Fatal("PutArtifacts with no records succeeded")
		}
	})

	t.Run("FanInCompletesOnce", func(t *testing.T) {
		j := open(t)
		members := []string{"_extraction", "csv", "json", "geojson", "gpkg"}
		for round := range 3 {
			job := fmt.Sprintf("etl_%d", round)
			var wg sync.WaitGroup
			var mu sync.Mutex
			var sizes []int
			for _, m := range members {
				wg.Add(1)
				go func() {
					defer wg.Done()
					all, err := j.PutArtifacts(ctx, job, "parcels", map[string][]byte{m: []byte(m)})
					if err != nil {
						t.Error(err)
						return
					}
					if string(all[m]) != m {
						t.Errorf("PutArtifacts(%s) returned %q without its own record", m, all)
					}
					mu.Lock()
					sizes = append(sizes, len(all))
					mu.Unlock()
				}()
			}
			wg.Wait()
			slices.Sort(sizes)
			if !slices.Equal(sizes, []int{1, 2, 3, 4, 5}) {
				t.Fatalf("round %d: concurrent writers saw %v records, want each of 1..5 once (exactly one sees the fan-in complete)", round, sizes)
			}
		}
	})

	t.Run("PutArtifactsIsAtomic", func(t *testing.T) {
		// Readers never see some members of one PutArtifacts call without
		// the others.
		j := open(t)
		members := []string{"_extraction", "csv", "json"}
		stop := make(chan struct{})
		var readers sync.WaitGroup
		for range 2 {
			readers.Add(1)
			go func() {
				defer readers.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					got, err := j.Artifacts(ctx, "etl_1", "d")
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						continue
					}
					first := string(got[members[0]])
					for _, m := range members {
						if string(got[m]) != first {
							t.Errorf("a reader saw a partial write: %q", got)
							return
						}
					}
				}
			}()
		}
		for v := range 100 {
			docs := map[string][]byte{}
			for _, m := range members {
				docs[m] = []byte(strconv.Itoa(v))
			}
			all, err := j.PutArtifacts(ctx, "etl_1", "d", docs)
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != len(members) || string(all["csv"]) != strconv.Itoa(v) {
				t.Fatalf("write %d returned %q", v, all)
			}
		}
		close(stop)
		readers.Wait()
	})

	t.Run("BytesAreCopies", func(t *testing.T) {
		j := open(t)
		doc := []byte(`{"v":1}`)
		if _, err := j.CreateJob(ctx, "etl_1", doc); err != nil {
			t.Fatal(err)
		}
		doc[0] = 'X'
		got, err := j.GetJob(ctx, "etl_1")
		if err != nil || string(got) != `{"v":1}` {
			t.Fatalf("GetJob after changing the slice given to CreateJob = %q, %v", got, err)
		}
		got[0] = 'Y'
		if again := getJob(t, j, "etl_1"); again != `{"v":1}` {
			t.Fatalf("changing GetJob's slice changed the store: %s", again)
		}
		put := []byte(`{"v":2}`)
		if err := j.PutJob(ctx, "etl_1", put); err != nil {
			t.Fatal(err)
		}
		put[0] = 'X'
		if again := getJob(t, j, "etl_1"); again != `{"v":2}` {
			t.Fatalf("changing PutJob's slice changed the store: %s", again)
		}

		res := []byte(`{"rows":1}`)
		if err := j.PutDatasetResult(ctx, "etl_1", "d", res); err != nil {
			t.Fatal(err)
		}
		res[0] = 'X'
		m, err := j.DatasetResults(ctx, "etl_1")
		if err != nil {
			t.Fatal(err)
		}
		m["d"][0] = 'Y'
		if m, _ := j.DatasetResults(ctx, "etl_1"); string(m["d"]) != `{"rows":1}` {
			t.Fatalf("result changed through a caller's slice: %q", m["d"])
		}

		rec := []byte(`{"f":"csv"}`)
		all, err := j.PutArtifacts(ctx, "etl_1", "d", map[string][]byte{"csv": rec})
		if err != nil {
			t.Fatal(err)
		}
		rec[0] = 'X'
		all["csv"][0] = 'Y'
		arts, err := j.Artifacts(ctx, "etl_1", "d")
		if err != nil || string(arts["csv"]) != `{"f":"csv"}` {
			t.Fatalf("record changed through a caller's slice: %q, %v", arts["csv"], err)
		}
		arts["csv"][0] = 'Y'
		if again, _ := j.Artifacts(ctx, "etl_1", "d"); string(again["csv"]) != `{"f":"csv"}` {
			t.Fatalf("changing Artifacts' slice changed the store: %q", again["csv"])
		}
	})
}

// sameDocs reports whether got holds exactly the documents of want.
func sameDocs(got map[string][]byte, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		g, ok := got[k]
		if !ok || !bytes.Equal(g, []byte(v)) {
			return false
		}
	}
	return true
}

// nextMillisecond returns once the wall clock has moved on to a new
// millisecond, so that the next creation has a later creation time than
// the previous one.
func nextMillisecond() {
	start := time.Now().UnixMilli()
	for time.Now().UnixMilli() == start {
		time.Sleep(50 * time.Microsecond)
	}
}
