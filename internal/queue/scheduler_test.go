package queue

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/open"
	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/testsvc"
)

// TestSchedulerEnqueuesOnTime runs the scheduler for a few seconds with one
// dataset on "@every 1s" and one without a schedule: jobs appear for the
// scheduled dataset only, each with an extract task in Redis.
func TestSchedulerEnqueuesOnTime(t *testing.T) {
	url := testsvc.Redis(t)
	dir := t.TempDir()
	cfg, err := config.Parse(filepath.Join(dir, "cs.yaml"), []byte(fmt.Sprintf(`source: {url: "sqlite:///nonexistent.db"}
storage: {url: "file://%s"}
state: {url: "%s", prefix: %s}
datasets:
  - {name: nightly, query: SELECT 1, schedule: "@every 1s"}
  - {name: manual, query: SELECT 2}
`, filepath.Join(dir, "exports"), url, testsvc.RedisPrefix(t, url, "sched"))), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	env, closeEnv, err := open.Env(ctx, cfg, slog.Default(), open.Options{Jobs: open.Shared})
	if err != nil {
		t.Fatal(err)
	}
	defer closeEnv()
	opt, _ := asynq.ParseRedisURI(url)
	client := asynq.NewClient(opt)
	defer client.Close()
	runCtx, cancel := context.WithTimeout(ctx, 3500*time.Millisecond)
	defer cancel()
	n, err := RunScheduler(runCtx, env, client, slog.Default())
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
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	for _, id := range ids {
		rec, err := pipeline.LoadJob(ctx, env.Jobs, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.Datasets) != 1 || rec.Datasets[0] != "nightly" {
			t.Errorf("job %s has datasets %v, want [nightly]", id, rec.Datasets)
		}
		if _, err := insp.GetTaskInfo(QueueName(cfg.State.Prefix, TypeExtract), id+":extract:nightly"); err != nil {
			t.Errorf("job %s: extract task: %v", id, err)
		}
	}
	// Clean our asynq tasks from the shared test database.
	for _, id := range ids {
		_ = insp.DeleteTask(QueueName(cfg.State.Prefix, TypeExtract), id+":extract:nightly")
	}
}
