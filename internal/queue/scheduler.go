package queue

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/countydatasync/countysync/internal/pipeline"
)

// RunScheduler enqueues the datasets that have a schedule at their cron
// times until ctx ends; datasets sharing a schedule go in one job. Run one
// replica: two schedulers would each enqueue (their jobs would get
// different per-second ids and run one after the other, serialised by
// the dataset locks).
func RunScheduler(ctx context.Context, env *pipeline.Env, client Enqueuer, log *slog.Logger) (int, error) {
	cfg := env.Config
	bySpec := map[string][]string{}
	for _, d := range cfg.Datasets {
		if d.Schedule != "" {
			bySpec[d.Schedule] = append(bySpec[d.Schedule], d.Name)
		}
	}
	c := cron.New(cron.WithLocation(time.UTC))
	specs := make([]string, 0, len(bySpec))
	for spec := range bySpec {
		specs = append(specs, spec)
	}
	slices.Sort(specs)
	for _, spec := range specs {
		names := bySpec[spec]
		_, err := c.AddFunc(spec, func() {
			id, err := Enqueue(ctx, env, client, pipeline.Options{Datasets: names})
			if err != nil {
				log.Error("scheduled enqueue failed", "schedule", spec, "datasets", names, "error", err)
				return
			}
			log.Info("scheduled job enqueued", "job_id", id, "schedule", spec, "datasets", names)
		})
		if err != nil {
			return 0, err
		}
		log.Info("schedule", "cron", spec, "datasets", names)
	}
	if len(specs) == 0 {
		log.Warn("no dataset has a schedule: nothing to do")
	}
	c.Start()
	<-ctx.Done()
	<-c.Stop().Done()
	return len(specs), nil
}
