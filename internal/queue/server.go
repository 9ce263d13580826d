package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/state"
)

// WorkerOptions configure a worker process.
type WorkerOptions struct {
	// RedisURL is the asynq and state Redis (redis://, rediss:// or
	// redis-sentinel://).
	RedisURL string
	// Concurrency is the number of tasks run at once.
	Concurrency int
	// Queues maps task types (extract, export, publish) to the priorities
	// of their queues.
	Queues map[string]int
	// Listen is the health/metrics address ("" or "off": none).
	Listen string
	// ShutdownTimeout is how long running tasks get on SIGTERM.
	ShutdownTimeout time.Duration
	// Ready checks the worker's dependencies for /readyz (nil: always
	// ready).
	Ready func(context.Context) error
	// Health, if not nil, is the health endpoint the caller started
	// before opening the worker's edges (Listen is then ignored): the
	// worker sets its readiness check and registers its metrics there.
	Health *Health
	// Beats keeps the heartbeats of running tasks (the state store's
	// Redis). With nil, the worker neither beats nor reaps, and a killed
	// worker's tasks wait for asynq's own recovery (a minute or two).
	Beats state.Beats
}

// RunWorker runs tasks until ctx is cancelled (SIGTERM), then stops taking
// tasks and waits up to ShutdownTimeout for running ones; asynq hands
// unfinished tasks back to the queue.
func RunWorker(ctx context.Context, env *pipeline.Env, o WorkerOptions) error {
	redisOpt, err := RedisConnOpt(o.RedisURL)
	if err != nil {
		return fmt.Errorf("worker: redis URL: %w", err)
	}
	client := asynq.NewClient(redisOpt)
	defer client.Close()
	if env.Snapshots == nil {
		e := *env
		e.Snapshots = pipeline.NewSnapshotCache(filepath.Join(env.Store.WorkDir(), "snapshots"), snapshotsKept)
		env = &e
	}
	h := &Handlers{Env: env, Client: client}
	hs := o.Health
	if hs == nil && o.Listen != "" && o.Listen != "off" {
		if hs, err = ServeHealth(o.Listen, env.Log); err != nil {
			return err
		}
	}
	if hs != nil {
		defer hs.Close()
	}
	reg := prometheus.NewRegistry()
	if hs != nil {
		reg = hs.reg
	}
	m := newMetrics(reg)
	srv := asynq.NewServer(redisOpt, asynq.Config{
		Concurrency:     o.Concurrency,
		Queues:          queues(env.Config.State.Prefix, o.Queues),
		ShutdownTimeout: o.ShutdownTimeout,
		Logger:          slogAdapter{env.Log},
		LogLevel:        asynq.InfoLevel,
		RetryDelayFunc:  retryDelay,
		// A job's tasks follow each other: look for the next one often.
		TaskCheckInterval:        200 * time.Millisecond,
		DelayedTaskCheckInterval: time.Second,
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			retried, _ := asynq.GetRetryCount(ctx)
			maxRetry, _ := asynq.GetMaxRetry(ctx)
			final := errors.Is(err, asynq.SkipRetry) || retried >= maxRetry
			if errors.Is(err, errBeatLost) {
				// Another worker may have taken the task over: its
				// dataset is not this worker's to fail.
				final = false
			}
			env.Log.Warn("task failed", "type", t.Type(), "retried", retried, "max_retry", maxRetry, "final", final, "error", err)
			if final {
				h.Fail(ctx, t, err)
			}
		}),
	})
	mux := asynq.NewServeMux()
	if o.Beats != nil {
		b := &beater{beats: o.Beats, log: env.Log, ttl: beatTTL, every: beatEvery}
		mux.Use(b.middleware)
	}
	mux.Use(m.middleware, recoverPanics(env.Log))
	mux.HandleFunc(TypeExtract, h.HandleExtract)
	mux.HandleFunc(TypeExport, h.HandleExport)
	mux.HandleFunc(TypePublish, h.HandlePublish)
	if err := srv.Start(mux); err != nil {
		return fmt.Errorf("worker: start: %w", err)
	}
	inspector := asynq.NewInspector(redisOpt)
	defer inspector.Close()
	rctx, stopReaper := context.WithCancel(ctx)
	reaperDone := make(chan struct{})
	if o.Beats != nil {
		go func() {
			defer close(reaperDone)
			newReaper(env, inspector, o.Beats, client).run(rctx)
		}()
	} else {
		close(reaperDone)
	}
	defer func() { stopReaper(); <-reaperDone }()
	if hs != nil {
		m.reg.MustRegister(queueCollector{inspector: inspector, prefix: env.Config.State.Prefix})
		hs.SetReady(o.Ready)
	}
	env.Log.Info("worker started", "concurrency", o.Concurrency, "queues", queues(env.Config.State.Prefix, o.Queues), "listen", o.Listen)
	<-ctx.Done()
	env.Log.Info("worker stopping: waiting for running tasks", "timeout", o.ShutdownTimeout)
	srv.Shutdown()
	env.Log.Info("worker stopped")
	return nil
}

// queues returns the deployment's queue names with the priorities of
// their task types.
func queues(prefix string, byType map[string]int) map[string]int {
	out := make(map[string]int, len(byType))
	for typ, p := range byType {
		out[QueueName(prefix, typ)] = p
	}
	return out
}

// snapshotsKept is how many snapshots a worker keeps on its disk.
const snapshotsKept = 8

// Health is a worker's health endpoint: /healthz (the process answers),
// /readyz (its readiness check answers; "not ready" until the worker has
// opened its edges and set one) and /metrics. It is started before the
// edges are opened, so that a worker waiting for Redis, the object store
// or the database is alive but not ready.
type Health struct {
	reg   *prometheus.Registry
	srv   *http.Server
	ready atomic.Pointer[func(context.Context) error]
}

// ServeHealth starts the health endpoint on addr.
func ServeHealth(addr string, log *slog.Logger) (*Health, error) {
	h := &Health{reg: prometheus.NewRegistry()}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		ready := h.ready.Load()
		if ready == nil {
			http.Error(w, "not ready: starting (waiting for Redis, the storage and the source)", http.StatusServiceUnavailable)
			return
		}
		if *ready != nil {
			if err := (*ready)(ctx); err != nil {
				log.Warn("not ready", "error", err)
				http.Error(w, "not ready", http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("/metrics", promhttp.HandlerFor(h.reg, promhttp.HandlerOpts{}))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("worker: health endpoint %s: %w", addr, err)
	}
	h.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := h.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("health endpoint", "error", err)
		}
	}()
	return h, nil
}

// SetReady sets the readiness check (nil: ready).
func (h *Health) SetReady(ready func(context.Context) error) { h.ready.Store(&ready) }

// Close stops the endpoint.
func (h *Health) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = h.srv.Shutdown(ctx)
}

// recoverPanics makes a panic in a handler outside the steps (which
// recover their own) a failure that is not retried, with the stack in the
// log: asynq would otherwise retry it as a transient error.
func recoverPanics(log *slog.Logger) asynq.MiddlewareFunc {
	return func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) (err error) {
			defer func() {
				if r := recover(); r != nil {
					log.Error("task panicked: this is a bug", "type", t.Type(), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
					err = fmt.Errorf("%s task: internal error (panic: %v; the stack is in the log): %w", t.Type(), r, asynq.SkipRetry)
				}
			}()
			return next.ProcessTask(ctx, t)
		})
	}
}

// slogAdapter gives asynq our logger.
type slogAdapter struct{ log *slog.Logger }

func (a slogAdapter) Debug(args ...any) { a.log.Debug(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Info(args ...any)  { a.log.Info(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Warn(args ...any)  { a.log.Warn(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Error(args ...any) { a.log.Error(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Fatal(args ...any) {
	a.log.Error(fmt.Sprint(args...), "component", "asynq", "fatal", true)
}
