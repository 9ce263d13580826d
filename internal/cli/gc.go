package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/countydatasync/countysync/internal/open"
	"github.com/countydatasync/countysync/internal/pipeline"
)

func newGCCmd(g *globals) *cobra.Command {
	var path string
	var olderThan time.Duration
	var apply bool
	c := &cobra.Command{
		Use:   "gc --config FILE [--older-than 24h] [--apply]",
		Short: "List (and with --apply delete) objects no manifest references",
		Long: `gc lists the objects in storage that no manifest references: timestamped
files of a known dataset that no manifest lists (unless a latest name holds
them), snapshots that no watermark or manifest names, and temporary files,
claims and unfinished uploads left by writers that died. Nothing newer than
--older-than is listed (a file by its job's start time), and nothing else is
considered: manifests, latest names, the state and keys countysync does not
name always stay. It only lists unless --apply is given. Give --older-than
more than your longest job: a running job's files have no manifest yet.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if olderThan < time.Hour {
				return usageError(errors.New("--older-than must be at least 1h: a running job's files are not in a manifest yet"))
			}
			env, closeEnv, err := openEnv(cmd.Context(), g, path, "", open.Options{})
			if err != nil {
				return err
			}
			defer closeEnv()
			found, err := pipeline.GC(cmd.Context(), env, pipeline.GCOptions{OlderThan: olderThan, Apply: apply})
			if err != nil {
				return failedError(err)
			}
			failed := 0
			for _, gb := range found {
				switch {
				case !apply:
					fmt.Fprintf(g.stdout, "would delete %s (%s)\n", gb.Key, gb.Why)
				case gb.Deleted:
					fmt.Fprintf(g.stdout, "deleted %s (%s)\n", gb.Key, gb.Why)
				default:
					failed++
					fmt.Fprintf(g.stdout, "could not delete %s (%s): %v\n", gb.Key, gb.Why, gb.Err)
				}
			}
			switch {
			case !apply:
				fmt.Fprintf(g.stdout, "gc: %d objects older than %s that nothing references; run with --apply to delete them\n", len(found), olderThan)
			case failed > 0:
				fmt.Fprintf(g.stdout, "gc: deleted %d of %d objects\n", len(found)-failed, len(found))
				return silentFailure(ExitFailed)
			default:
				fmt.Fprintf(g.stdout, "gc: deleted %d objects\n", len(found))
			}
			return nil
		},
	}
	c.Flags().StringVarP(&path, "config", "c", "", "config file (required)")
	c.Flags().DurationVar(&olderThan, "older-than", 24*time.Hour, "leave everything newer than this")
	c.Flags().BoolVar(&apply, "apply", false, "delete what is listed (default: only list)")
	_ = c.MarkFlagRequired("config")
	return c
}
