package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/open"
	"github.com/countydatasync/countysync/internal/pipeline"
)

type runOptions struct {
	jobFlags
	exportDir string
}

func newRunCmd(g *globals) *cobra.Command {
	o := &runOptions{}
	c := &cobra.Command{
		Use:   "run --config FILE",
		Short: "Run a job in this process and print its report (JSON) on stdout",
		Long: `Run extracts every dataset of the config (or those named with --dataset),
renders each format from the same rows, publishes <dataset>_<YYYYMMDD>_<HHMMSS>.<ext>
files, points <dataset>.<ext> at them and writes manifests/<job_id>.json.
Datasets with an incremental: section read only rows changed since their
watermark unless --full is given. Exit status 0 only if every dataset succeeded.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRun(cmd.Context(), g, o)
		},
	}
	o.register(c)
	c.Flags().StringVar(&o.exportDir, "export-dir", "", "write to this local directory instead of the config's storage")
	return c
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// openEnv loads the config and opens its edges (internal/open) with the
// job records where o says.
func openEnv(ctx context.Context, g *globals, configPath, exportDir string, o open.Options) (*pipeline.Env, func(), error) {
	log, err := g.newLogger(g.stderr)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := config.Load(configPath)
	if err != nil {
		return nil, nil, usageError(err)
	}
	if exportDir != "" {
		abs, err := filepath.Abs(exportDir)
		if err != nil {
			return nil, nil, usageError(fmt.Errorf("--export-dir: %w", err))
		}
		cfg.Storage.URL = "file://" + abs
	}
	if o.Jobs == open.Shared && cfg.State.URL == "" {
		cfg.State.URL = defaultRedisURL
	}
	env, closeEnv, err := open.Env(ctx, cfg, log, o)
	if errors.Is(err, open.ErrNotShared) {
		return nil, nil, usageError(err)
	}
	if err != nil {
		return nil, nil, failedError(err)
	}
	return env, closeEnv, nil
}

func runRun(ctx context.Context, g *globals, o *runOptions) error {
	env, closeEnv, err := openEnv(ctx, g, o.configPath, o.exportDir, open.Options{Source: true})
	if err != nil {
		return err
	}
	defer closeEnv()
	if isTerminal(g.stderr) {
		env.Progress = pipeline.NewProgress(g.stderr)
		if log, err := g.newLogger(env.Progress.Wrap(g.stderr)); err == nil {
			env.Log = log
		}
	}
	opts := o.options()
	report, err := pipeline.Run(ctx, env, opts)
	if err != nil {
		return startError(err)
	}
	if err := printJSON(g.stdout, report); err != nil {
		return failedError(err)
	}
	if !report.Success {
		return failedError(fmt.Errorf("job %s failed: %s", report.JobID, report.Error))
	}
	return nil
}

// startError is the exit status of a job that could not start: 2 for
// options the config cannot take, 1 (with what failed) for the storage or
// the state store.
func startError(err error) error {
	if errors.Is(err, pipeline.ErrUsage) {
		return usageError(err)
	}
	return failedError(fmt.Errorf("infrastructure failure, the job could not start: %w", err))
}

func printJSON(w io.Writer, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
