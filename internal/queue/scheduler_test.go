package queue

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/open"
	"github.com/countydatasync/countysync/internal/pipeline"
	v1 "github.com/countydatasync/countysync/proto/countysync/v1"
)

// TestSchedulerEnqueuesOnTime runs the scheduler for a few seconds with one
// dataset on "@every 1s" and one without a schedule: jobs appear for the
// scheduled dataset only, each with its extract task on the deployment's
// queue.
func TestSchedulerEnqueuesOnTime(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse(filepath.Join(dir, "cs.yaml"), []byte(fmt.Sprintf(`source: {url: "sqlite:///nonexistent.db"}
storage: {url: "file://%s"}
datasets:
  - {name: nightly, query: SELECT 1, schedule: "@every 1s"}
  - {name: manual, query: SELECT 2}
`, filepath.Join(dir, "exports"))), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	env, closeEnv, err := open.Env(ctx, cfg, testLogger(t), open.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeEnv()
	q := newFakeQueue(t, &Handlers{Env: env})
	runCtx, cancel := context.WithTimeout(ctx, 3500*time.Millisecond)
	defer cancel()
	n, err := RunScheduler(runCtx, env, q, env.Log)
	if err != nil || n != 1 {
		t.Fatalf("RunScheduler = %d schedules, %v", n, err)
	}
	ids, err := env.Jobs.ListJobs(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) < 2 || len(ids) > 4 {
		t.Fatalf("%d jobs in 3.5 s on @every 1s, want 2–4", len(ids))
	}
	if len(q.pending) != len(ids) {
		t.Fatalf("%d tasks queued for %d jobs", len(q.pending), len(ids))
	}
	for i, id := range ids {
		rec, err := pipeline.LoadJob(ctx, env.Jobs, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.Datasets) != 1 || rec.Datasets[0] != "nightly" {
			t.Errorf("job %s has datasets %v, want [nightly]", id, rec.Datasets)
		}
		task := q.pending[len(ids)-1-i] // ListJobs is newest first
		var p v1.ExtractTask
		if job, err := decode(task, &p); err != nil || task.Type() != TypeExtract || job.ID != id || p.GetDataset() != "nightly" {
			t.Errorf("task %d: %s %s/%s (%v), want extract of job %s", i, task.Type(), job.ID, p.GetDataset(), err, id)
		}
	}
}
