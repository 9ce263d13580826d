package pipeline_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/pipeline"
)

// A starting run ends as failed the "running" manifests whose run is
// provably gone, and only those (red-team U3): an embedded run whose job
// lock is free, and a manifest from before manifests named their runner
// once a day old; never an embedded run whose lock is held, a
// distributed job (its record ends it), or a recent legacy manifest.
func TestStartEndsManifestsOfStoppedRuns(t *testing.T) {
	env, _ := demoEnv(t)
	ctx := context.Background()
	now := time.Now().UTC()
	id := func(ago time.Duration) string { return pipeline.NewJob(now.Add(-ago)).ID }
	placeholder := func(job, runner string) {
		doc := fmt.Sprintf(`{"job_id": %q, "status": "running"`, job)
		if runner != "" {
			doc += fmt.Sprintf(`, "runner": %q`, runner)
		}
		if err := env.Store.PutBytes(ctx, pipeline.ManifestKey(job), []byte(doc+"}\n")); err != nil {
			t.Fatal(err)
		}
	}
	dead, live := id(time.Minute), id(2*time.Minute)
	distributed, legacyOld, legacyNew := id(3*time.Minute), id(25*time.Hour), id(4*time.Minute)
	placeholder(dead, pipeline.RunnerEmbedded)
	placeholder(live, pipeline.RunnerEmbedded)
	placeholder(distributed, pipeline.RunnerDistributed)
	placeholder(legacyOld, "")
	placeholder(legacyNew, "")
	// The dead run had published one dataset.
	res := `{"job_id": %q, "dataset": "parcels", "published_at": "2025-01-01T00:00:00Z", "datasets": {"parcels": {"mode": "full", "success": true, "records": 7}}}`
	if err := env.Store.PutBytes(ctx, pipeline.DatasetManifestKey(dead, "parcels"), fmt.Appendf(nil, res, dead)); err != nil {
		t.Fatal(err)
	}
	// The live run holds its job lock (in this process: another owner).
	l, err := env.State.Lock(ctx, "job:"+live, live, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(ctx)

	rep := mustRun(t, env, pipeline.Options{Datasets: []string{"permits"}})

	status := func(job string) *pipeline.Manifest {
		t.Helper()
		m, err := pipeline.ReadManifest(ctx, env.Store, pipeline.ManifestKey(job))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for job, want := range map[string]string{dead: "failed", legacyOld: "failed", live: "running", distributed: "running", legacyNew: "running", rep.JobID: "succeeded"} {
		if got := status(job).Status; got != want {
			t.Errorf("job %s: status %q, want %q", job, got, want)
		}
	}
	m := status(dead)
	if r := m.Datasets["parcels"]; r == nil || !r.Success || r.Records != 7 || len(m.Datasets) != 1 {
		t.Errorf("the dead run's manifest lost the dataset it published: %+v", m.Datasets)
	}
	// Readers now take the job's final manifest, which kept that entry.
	keys, err := pipeline.ManifestKeys(ctx, env.Store)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.JobID != dead {
			continue
		}
		got, err := k.Read(ctx, env.Store, env.Log, "", true)
		if err != nil || got.Status != "failed" || got.Datasets["parcels"] == nil || got.Datasets["parcels"].Records != 7 {
			t.Errorf("read back: %+v, %v", got, err)
		}
	}
	// The live run's lock is still its own.
	if _, err := env.State.Lock(ctx, "job:"+live, "someone-else", 0); err == nil {
		t.Error("the sweep took a live run's lock away")
	}
}
