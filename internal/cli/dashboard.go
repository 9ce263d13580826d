package cli

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/countydatasync/countysync/internal/dashboard"
	"github.com/countydatasync/countysync/internal/queue"
)

// Environment variables holding the dashboard's basic auth.
const (
	EnvDashboardUser     = "COUNTYSYNC_DASHBOARD_USER"
	EnvDashboardPassword = "COUNTYSYNC_DASHBOARD_PASSWORD"
)

func runDashboard(cmd *cobra.Command, g *globals, o *dashboardOptions) error {
	ctx := cmd.Context()
	jobs, redisURL, closeJobs, cfg, err := openJobs(ctx, g, &o.redisOptions, true)
	if err != nil {
		return err
	}
	defer closeJobs()
	log, _ := g.newLogger(g.stderr)
	listen, readOnly := o.listen, o.readOnly
	if cfg != nil {
		if listen == "" {
			listen = cfg.Dashboard.Listen
		}
		readOnly = readOnly || cfg.Dashboard.ReadOnly
	}
	if listen == "" {
		listen = "127.0.0.1:8080"
	}
	user, pass := os.Getenv(EnvDashboardUser), os.Getenv(EnvDashboardPassword)
	if err := dashboard.CheckAuth(listen, user, pass); err != nil {
		return usageError(err)
	}
	h, closeMon, err := dashboard.New(dashboard.Options{
		RedisURL: redisURL, ReadOnly: readOnly, User: user, Password: pass, Log: log,
		Jobs: jobs,
	})
	if err != nil {
		return usageError(err)
	}
	defer closeMon()
	if err := dashboard.Serve(ctx, listen, h, user, pass, log); err != nil {
		return failedError(err)
	}
	return nil
}

func runScheduler(cmd *cobra.Command, g *globals, path string) error {
	ctx := cmd.Context()
	env, client, closeAll, err := openProducer(ctx, g, path, true)
	if err != nil {
		return err
	}
	defer closeAll()
	if _, err := queue.RunScheduler(ctx, env, client, env.Log); err != nil {
		return failedError(err)
	}
	return nil
}
