package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/spf13/cobra"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/queue"
	"github.com/countydatasync/countysync/internal/redact"
	redisstate "github.com/countydatasync/countysync/internal/state/redis"
)

// redisState returns the env's state store as the Redis store the
// distributed commands need.
func redisState(env *pipeline.Env) (*redisstate.Store, error) {
	st, ok := env.State.(*redisstate.Store)
	if !ok {
		return nil, usageError(errors.New("distributed mode needs state.url: redis://… in the config (or COUNTYSYNC_REDIS_URL)"))
	}
	return st, nil
}

func parseQueues(s string) (map[string]int, error) {
	out := map[string]int{}
	for _, part := range splitList(s) {
		name, prio, ok := strings.Cut(part, "=")
		p, err := strconv.Atoi(prio)
		if !ok || err != nil || p < 1 || !(name == queue.TypeExtract || name == queue.TypeExport || name == queue.TypePublish) {
			return nil, fmt.Errorf("--queues %q: use extract=N,export=N,publish=N with N ≥ 1", s)
		}
		out[name] = p
	}
	return out, nil
}

func runWorker(cmd *cobra.Command, g *globals, o *workerOptions) error {
	ctx := cmd.Context()
	env, closeEnv, err := openEnv(ctx, g, o.configPath, "", true)
	if err != nil {
		return err
	}
	defer closeEnv()
	store, err := redisState(env)
	if err != nil {
		return err
	}
	cfg := env.Config
	w := queue.WorkerOptions{
		RedisURL:        cfg.State.URL,
		Concurrency:     cmp(o.concurrency, cfg.Worker.Concurrency, runtime.NumCPU()),
		Queues:          cfg.Worker.Queues,
		Listen:          cfg.Worker.Listen,
		ShutdownTimeout: cfg.Worker.ShutdownTimeout.D(),
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
	if err := queue.RunWorker(ctx, env, store, w); err != nil {
		return failedError(err)
	}
	return nil
}

func cmp(vals ...int) int {
	for _, v := range vals {
		if v > 0 {
			return v
		}
	}
	return 0
}

// openRedis loads the config (if any) and connects to its Redis.
func openRedis(ctx context.Context, g *globals, configPath, redisURL string) (*config.Config, *redisstate.Store, string, error) {
	log, err := g.newLogger(g.stderr)
	if err != nil {
		return nil, nil, "", err
	}
	prefix := redisstate.DefaultPrefix
	var cfg *config.Config
	if configPath != "" {
		if cfg, err = config.Load(configPath); err != nil {
			return nil, nil, "", usageError(err)
		}
		prefix = cfg.State.Prefix
		if redisURL == "" {
			redisURL = cfg.State.URL
		}
	}
	if redisURL == "" {
		redisURL = os.Getenv(config.EnvRedisURL)
	}
	if redisURL == "" {
		redisURL = "redis://127.0.0.1:6379/0"
	}
	if !strings.HasPrefix(redisURL, "redis://") && !strings.HasPrefix(redisURL, "rediss://") {
		return nil, nil, "", usageError(fmt.Errorf("Redis URL %s: use redis:// or rediss://", redact.URL(redisURL)))
	}
	store, err := redisstate.Open(ctx, redisURL, prefix, log)
	if err != nil {
		return nil, nil, "", failedError(err)
	}
	if cfg != nil {
		cfg.State.URL = redisURL
	}
	return cfg, store, redisURL, nil
}

func runEnqueue(cmd *cobra.Command, g *globals, o *enqueueOptions) error {
	ctx := cmd.Context()
	cfg, store, _, err := openRedis(ctx, g, o.configPath, "")
	if err != nil {
		return err
	}
	defer store.Close()
	redisOpt, err := asynq.ParseRedisURI(cfg.State.URL)
	if err != nil {
		return usageError(fmt.Errorf("state.url: %w", err))
	}
	client := asynq.NewClient(redisOpt)
	defer client.Close()
	records := queue.Records{Store: redisstate.NewJobs(store.Client(), store.Prefix())}
	opts := o.options()
	id, err := queue.Enqueue(ctx, cfg, client, records, opts, time.Now)
	if err != nil {
		return usageError(err)
	}
	if !o.wait {
		fmt.Fprintln(g.stdout, id)
		return nil
	}
	fmt.Fprintf(g.stderr, "enqueued %s; waiting (up to %s)\n", id, o.timeout)
	wctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	rep, err := queue.Wait(wctx, records, id, 250*time.Millisecond)
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

func runStatus(cmd *cobra.Command, g *globals, o *redisOptions, id string) error {
	ctx := cmd.Context()
	_, store, _, err := openRedis(ctx, g, o.configPath, o.redisURL)
	if err != nil {
		return err
	}
	defer store.Close()
	records := queue.Records{Store: redisstate.NewJobs(store.Client(), store.Prefix())}
	rep, _, err := records.Report(ctx, id)
	if err != nil {
		return failedError(err)
	}
	return printJSON(g.stdout, rep)
}
