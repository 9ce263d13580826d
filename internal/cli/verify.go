package cli

import (
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/open"
	"github.com/countydatasync/countysync/internal/verify"
)

func newVerifyCmd(g *globals) *cobra.Command {
	var path, job string
	var datasets []string
	c := &cobra.Command{
		Use:   "verify --config FILE [--job ID] [--dataset NAME]...",
		Short: "Read the published files back and check them against the manifests",
		Long: `verify reads back every file of the newest job of each dataset (or of --job)
and checks its size, sha256 and row count against the manifest, and checks
that each latest name holds the newest file. It prints one line per mismatch
and exits 1, or prints a summary and exits 0. Rows are counted with readers
independent of the writers (encoding/csv, encoding/json, database/sql).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := g.newLogger(g.stderr)
			if err != nil {
				return err
			}
			cfg, err := config.Load(path)
			if err != nil {
				return usageError(err)
			}
			store, err := open.Store(cmd.Context(), cfg.Storage.URL, log)
			if err != nil {
				return failedError(err)
			}
			defer store.Close()
			res, err := verify.Verify(cmd.Context(), store, log, verify.Options{JobID: job, Datasets: datasets})
			if err != nil {
				return failedError(err)
			}
			for _, p := range res.Problems {
				fmt.Fprintln(g.stdout, p.String())
			}
			var bytes, rows int64
			var jobs, names []string
			for _, f := range res.Files {
				bytes, rows = bytes+f.Bytes, rows+f.Rows
				if !slices.Contains(jobs, f.JobID) {
					jobs = append(jobs, f.JobID)
				}
				if !slices.Contains(names, f.Dataset) {
					names = append(names, f.Dataset)
				}
			}
			slices.Sort(jobs)
			if !res.OK() {
				fmt.Fprintf(g.stdout, "verify: %d problems; %d files and %d latest names read\n", len(res.Problems), len(res.Files), res.Latest)
				return silentFailure(ExitFailed)
			}
			fmt.Fprintf(g.stdout, "verify: ok: %d files of %d datasets (%d jobs: %v), %d bytes, %d rows; %d latest names hold the newest files\n",
				len(res.Files), len(names), len(jobs), jobs, bytes, rows, res.Latest)
			return nil
		},
	}
	c.Flags().StringVarP(&path, "config", "c", "", "config file (required)")
	c.Flags().StringVar(&job, "job", "", "verify this job (default: the newest job of each dataset)")
	c.Flags().StringArrayVarP(&datasets, "dataset", "d", nil, "dataset (repeatable; default all)")
	_ = c.MarkFlagRequired("config")
	return c
}
