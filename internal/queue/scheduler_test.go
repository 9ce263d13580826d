package queue

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/countydatasync/countysync/internal/config"
	redisstate "github.com/countydatasync/countysync/internal/state/redis"
	"github.com/countydatasync/countysync/internal/testsvc"
)

// TestSchedulerEnqueuesOnTime runs the scheduler for a few seconds with one
// dataset on "@every 1s" and one without a schedule: jobs appear for the
// scheduled dataset only, each with an extract task.
func TestSchedulerEnqueuesOnTime(t *testing.T) {
	url := testsvc.Redis(t)
	cfg, err := config.Parse("", []byte(`source: {url: "sqlite:///nonexistent.db"}
state: {url: "`+url+`"}
datasets:
  - {name: nightly, query: SELECT 1, schedule: "@every 1s"}
  - {name: manual, query: SELECT 2}
`), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	store, err := redisstate.Open(ctx, url, testsvc.RandomName("sched"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	opt, _ := asynq.ParseRedisURI(url)
	client := asynq.NewClient(opt)
	defer client.Close()
	records := Records{Store: redisstate.NewJobs(store.Client(), store.Prefix())}
	runCtx, cancel := context.WithTimeout(ctx, 3500*time.Millisecond)
	defer cancel()
	n, err := RunScheduler(runCtx, cfg, client, records, slog.Default())
	if err != nil || n != 1 {
		t.Fatalf("RunScheduler = %d schedules, %v", n, err)
	}
	ids, err := records.Store.ListJobs(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) < 2 || len(ids) > 4 {
		t.Fatalf("%d jobs in 3.5 s on @every 1s, want 2–4", len(ids))
	}
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	for _, id := range ids {
		doc, err := records.Job(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(doc.Datasets) != 1 || doc.Datasets[0] != "nightly" {
			t.Errorf("job %s has datasets %v, want [nightly]", id, doc.Datasets)
		}
		if _, err := insp.GetTaskInfo("extract", extractID(id, "nightly")); err != nil {
			t.Errorf("job %s: extract task: %v", id, err)
		}
	}
	// Clean our asynq tasks from the shared test database.
	for _, id := range ids {
		_ = insp.DeleteTask("extract", extractID(id, "nightly"))
	}
}
