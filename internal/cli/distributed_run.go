package cli

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/spf13/cobra"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/open"
	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/queue"
	"github.com/countydatasync/countysync/internal/redact"
	"github.com/countydatasync/countysync/internal/state"
)

// defaultRedisURL is the Redis of the distributed commands when neither
// the config nor $COUNTYSYNC_REDIS_URL names one.
const defaultRedisURL = "redis://127.0.0.1:6379/0"

func parseQueues(s string) (map[string]int, error) {
	out := map[string]int{}
	for _, part := range splitList(s) {
		name, prio, ok := strings.Cut(part, "=")
		p, err := strconv.Atoi(prio)
		if !ok || err != nil || p < 1 || !slices.Contains(queue.TaskTypes, name) {
			return nil, fmt.Errorf("--queues %q: use %s with N ≥ 1", s, strings.Join(queue.TaskTypes, "=N,")+"=N")
		}
		out[name] = p
	}
	return out, nil
}

func runWorker(cmd *cobra.Command, g *globals, o *workerOptions) error {
	ctx := cmd.Context()
	// The health endpoint answers while the worker waits for its edges:
	// alive, not ready.
	var health *queue.Health
	if cfg, err := config.Load(o.configPath); err == nil {
		if listen := firstNonEmpty(o.listen, cfg.Worker.Listen); listen != "" && listen != "off" {
			log, err := g.newLogger(g.stderr)
			if err != nil {
				return err
			}
			if health, err = queue.ServeHealth(listen, log); err != nil {
				return failedError(err)
			}
		}
	}
	env, closeEnv, err := openEnv(ctx, g, o.configPath, "", open.Options{Source: true, Jobs: open.Shared, Patient: true})
	if err != nil {
		if health != nil {
			health.Close()
		}
		return err
	}
	defer closeEnv()
	cfg := env.Config
	w := queue.WorkerOptions{
		Health:          health,
		RedisURL:        cfg.State.URL,
		Concurrency:     firstPositive(o.concurrency, cfg.Worker.Concurrency, runtime.NumCPU()),
		Queues:          cfg.Worker.Queues,
		Listen:          cfg.Worker.Listen,
		ShutdownTimeout: cfg.Worker.ShutdownTimeout.D(),
		Ready:           open.Ready(env),
		Beats:           open.Beats(env.State),
	}
	if o.queues != "" {
		if w.Queues, err = parseQueues(o.queues); err != nil {
			return usageError(err)
		}
	}
	if o.listen != "" {
		w.Listen = o.listen
	}
	if o.shutdownTimeout > 0 {
		w.ShutdownTimeout = o.shutdownTimeout
	}
	if err := queue.RunWorker(ctx, env, w); err != nil {
		return failedError(err)
	}
	return nil
}

// firstPositive returns the first value above 0 (0 if none).
func firstPositive(vals ...int) int {
	for _, v := range vals {
		if v > 0 {
			return v
		}
	}
	return 0
}

// openProducer opens the config's edges with the shared job records and
// an asynq client on its Redis.
func openProducer(ctx context.Context, g *globals, configPath string, patient bool) (*pipeline.Env, *asynq.Client, func(), error) {
	env, closeEnv, err := openEnv(ctx, g, configPath, "", open.Options{Jobs: open.Shared, Patient: patient})
	if err != nil {
		return nil, nil, nil, err
	}
	redisOpt, err := queue.RedisConnOpt(env.Config.State.URL)
	if err != nil {
		closeEnv()
		return nil, nil, nil, usageError(fmt.Errorf("state.url: %w", err))
	}
	client := asynq.NewClient(redisOpt)
	return env, client, func() { client.Close(); closeEnv() }, nil
}

// openJobs connects to the job records of the Redis that --redis, the
// config's state.url, $COUNTYSYNC_REDIS_URL or the default names.
func openJobs(ctx context.Context, g *globals, o *redisOptions, patient bool) (state.Jobs, string, func(), *config.Config, error) {
	log, err := g.newLogger(g.stderr)
	if err != nil {
		return nil, "", nil, nil, err
	}
	redisURL, prefix := o.redisURL, state.DefaultPrefix
	var cfg *config.Config
	if o.configPath != "" {
		// Only the state section is used: the source's and storage's
		// variables (a database password) need not be set.
		if cfg, err = config.Load(o.configPath, config.Unused("source", "storage")); err != nil {
			return nil, "", nil, nil, usageError(err)
		}
		prefix = cfg.State.Prefix
		if redisURL == "" {
			redisURL = cfg.State.URL
		}
	}
	redisURL = firstNonEmpty(redisURL, os.Getenv(config.EnvRedisURL), defaultRedisURL)
	if !strings.HasPrefix(redisURL, "redis://") && !strings.HasPrefix(redisURL, "rediss://") && !strings.HasPrefix(redisURL, "redis-sentinel://") {
		return nil, "", nil, nil, usageError(fmt.Errorf("Redis URL %s: use redis://, rediss:// or redis-sentinel://", redact.URL(redisURL)))
	}
	jobs, closeJobs, err := open.SharedJobs(ctx, redisURL, prefix, log, patient)
	if err != nil {
		return nil, "", nil, nil, failedError(err)
	}
	return jobs, redisURL, closeJobs, cfg, nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func runEnqueue(cmd *cobra.Command, g *globals, o *enqueueOptions) error {
	ctx := cmd.Context()
	env, client, closeAll, err := openProducer(ctx, g, o.configPath, false)
	if err != nil {
		return err
	}
	defer closeAll()
	id, err := queue.Enqueue(ctx, env, client, o.options())
	if err != nil {
		return startError(err)
	}
	if !o.wait {
		fmt.Fprintln(g.stdout, id)
		return nil
	}
	fmt.Fprintf(g.stderr, "enqueued %s; waiting (up to %s)\n", id, o.timeout)
	wctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	watch, closeWatch := watchWorkers(env, g)
	defer closeWatch()
	rep, err := queue.Wait(wctx, env.Jobs, id, 250*time.Millisecond, watch)
	if rep != nil {
		if perr := printJSON(g.stdout, rep); perr != nil {
			return failedError(perr)
		}
	}
	if err != nil {
		return failedError(err)
	}
	if !rep.Success {
		return failedError(fmt.Errorf("job %s failed: %s", id, rep.Error))
	}
	return nil
}

// watchWorkers returns the watch of `enqueue --wait`: every few seconds it
// counts the workers serving the deployment's queues and says on stderr
// when there are none (and when one is back), so that a wait for a job no
// worker will run does not look like a slow job.
func watchWorkers(env *pipeline.Env, g *globals) (func(context.Context), func()) {
	redisOpt, err := queue.RedisConnOpt(env.Config.State.URL)
	if err != nil {
		return nil, func() {}
	}
	insp := asynq.NewInspector(redisOpt)
	var last time.Time
	alive := -1
	return func(ctx context.Context) {
		if time.Since(last) < workerCheckEvery {
			return
		}
		last = time.Now()
		n, err := queue.Workers(insp, env.Config.State.Prefix)
		if err != nil {
			env.Log.Warn("cannot count the workers", "error", err)
			return
		}
		switch {
		case n == 0 && alive != 0:
			fmt.Fprintf(g.stderr, "no worker is alive for the queues of state.prefix %q: the job waits until one starts\n", env.Config.State.Prefix)
		case n > 0 && alive == 0:
			fmt.Fprintf(g.stderr, "%d worker(s) alive again\n", n)
		}
		alive = n
	}, func() { insp.Close() }
}

// workerCheckEvery is how often `enqueue --wait` counts the workers.
const workerCheckEvery = 5 * time.Second

func runStatus(cmd *cobra.Command, g *globals, o *redisOptions, id string) error {
	ctx := cmd.Context()
	jobs, _, closeJobs, _, err := openJobs(ctx, g, o, false)
	if err != nil {
		return err
	}
	defer closeJobs()
	rep, _, err := pipeline.ReadReport(ctx, jobs, id)
	if err != nil {
		return failedError(err)
	}
	return printJSON(g.stdout, rep)
}
