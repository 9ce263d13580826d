package cli

import (
	"time"

	"github.com/spf13/cobra"
)

type workerOptions struct {
	configPath      string
	concurrency     int
	queues          string
	listen          string
	shutdownTimeout time.Duration
}

func newWorkerCmd(g *globals) *cobra.Command {
	o := &workerOptions{}
	c := &cobra.Command{
		Use:   "worker --config FILE",
		Short: "Run extract, export and publish tasks from Redis until SIGTERM",
		Long: `worker takes extract, export and publish tasks from Redis (asynq) and runs them.
Run as many as you like, on as many machines: tasks of a killed worker go back to
the queue. SIGTERM stops taking tasks and waits --shutdown-timeout for running ones.
Health (/healthz, /readyz) and Prometheus metrics (/metrics) are served on --listen.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runWorker(cmd, g, o) },
	}
	f := c.Flags()
	f.StringVarP(&o.configPath, "config", "c", "", "config file (required)")
	f.IntVar(&o.concurrency, "concurrency", 0, "tasks run at once (default: worker.concurrency, else the CPU count)")
	f.StringVar(&o.queues, "queues", "", "queue priorities, e.g. publish=6,export=3,extract=1 (default: worker.queues)")
	f.StringVar(&o.listen, "listen", "", "health and metrics address, or off (default: worker.listen, 127.0.0.1:9090)")
	f.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 0, "time running tasks get on SIGTERM (default: worker.shutdown_timeout, 30s)")
	_ = c.MarkFlagRequired("config")
	return c
}

type enqueueOptions struct {
	jobFlags
	wait    bool
	timeout time.Duration
}

func newEnqueueCmd(g *globals) *cobra.Command {
	o := &enqueueOptions{}
	c := &cobra.Command{
		Use:   "enqueue --config FILE",
		Short: "Put a job on Redis for the workers; print its id (with --wait, its report)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return runEnqueue(cmd, g, o) },
	}
	o.register(c)
	f := c.Flags()
	f.BoolVar(&o.wait, "wait", false, "wait for the job and print its report; exit status is the job's")
	f.DurationVar(&o.timeout, "timeout", time.Hour, "with --wait: give up after this long")
	return c
}

type redisOptions struct {
	configPath string
	redisURL   string
}

func (o *redisOptions) flags(c *cobra.Command) {
	c.Flags().StringVarP(&o.configPath, "config", "c", "", "config file (for state.url); optional")
	c.Flags().StringVar(&o.redisURL, "redis", "", "Redis URL (default: the config's state.url, $COUNTYSYNC_REDIS_URL, redis://127.0.0.1:6379/0)")
}

func newStatusCmd(g *globals) *cobra.Command {
	o := &redisOptions{}
	c := &cobra.Command{
		Use:   "status JOB_ID",
		Short: "Print a job's report so far (JSON)",
		Args:  cobra.ExactArgs(1),
		RunE:  func(cmd *cobra.Command, args []string) error { return runStatus(cmd, g, o, args[0]) },
	}
	o.flags(c)
	return c
}

type dashboardOptions struct {
	redisOptions
	listen   string
	readOnly bool
}

func newDashboardCmd(g *globals) *cobra.Command {
	o := &dashboardOptions{}
	c := &cobra.Command{
		Use:   "dashboard [--listen 127.0.0.1:8080]",
		Short: "Serve asynqmon under /monitoring/ and the run history",
		Long: `dashboard serves the asynqmon queue dashboard under /monitoring/ and a page of
recent jobs at /. It binds 127.0.0.1 by default; on any other address it refuses
to start unless COUNTYSYNC_DASHBOARD_USER and COUNTYSYNC_DASHBOARD_PASSWORD set
basic auth. --read-only refuses every action that changes the queues.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runDashboard(cmd, g, o) },
	}
	o.flags(c)
	c.Flags().StringVar(&o.listen, "listen", "", "address (default: dashboard.listen, 127.0.0.1:8080)")
	c.Flags().BoolVar(&o.readOnly, "read-only", false, "refuse queue actions (also dashboard.read_only)")
	return c
}

func newSchedulerCmd(g *globals) *cobra.Command {
	var path string
	c := &cobra.Command{
		Use:   "scheduler --config FILE",
		Short: "Enqueue datasets on their cron schedule (run exactly one replica)",
		Long: `scheduler enqueues each dataset that has a schedule: in the config at its time.
Run one replica only: two schedulers would enqueue twice (the jobs would still
collapse per second, but do not rely on it).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runScheduler(cmd, g, path) },
	}
	c.Flags().StringVarP(&path, "config", "c", "", "config file (required)")
	_ = c.MarkFlagRequired("config")
	return c
}
