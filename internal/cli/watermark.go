package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/open"
	"github.com/countydatasync/countysync/internal/pipeline"
)

func newWatermarkCmd(g *globals) *cobra.Command {
	var path string
	var datasets []string
	c := &cobra.Command{
		Use:   "watermark show|reset --config FILE [--dataset NAME]...",
		Short: "Show or reset datasets' incremental watermarks",
		Long: `watermark show prints each dataset's watermark (JSON).
watermark reset forgets it, so the next run of the dataset is a full run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError(errors.New("watermark needs a subcommand: show or reset"))
		},
	}
	c.PersistentFlags().StringVarP(&path, "config", "c", "", "config file (required)")
	c.PersistentFlags().StringArrayVarP(&datasets, "dataset", "d", nil, "dataset (repeatable; default all)")
	_ = c.MarkPersistentFlagRequired("config")
	show := &cobra.Command{
		Use:   "show",
		Short: "Print watermarks as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			env, ds, closeEnv, err := watermarkDatasets(cmd, g, path, datasets)
			if err != nil {
				return err
			}
			defer closeEnv()
			out := map[string]any{}
			for _, d := range ds {
				wm, err := env.State.Get(cmd.Context(), d.Name)
				if err != nil {
					return failedError(err)
				}
				out[d.Name] = wm
			}
			return printJSON(g.stdout, out)
		},
	}
	reset := &cobra.Command{
		Use:   "reset",
		Short: "Forget watermarks: the next run is full",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			env, ds, closeEnv, err := watermarkDatasets(cmd, g, path, datasets)
			if err != nil {
				return err
			}
			defer closeEnv()
			for _, d := range ds {
				if d.Incremental == nil {
					fmt.Fprintf(g.stdout, "dataset %s: not incremental, nothing to reset\n", d.Name)
					continue
				}
				if err := env.State.Reset(cmd.Context(), d.Name); err != nil {
					return failedError(err)
				}
				fmt.Fprintf(g.stdout, "dataset %s: watermark reset\n", d.Name)
			}
			return nil
		},
	}
	c.AddCommand(show, reset)
	return c
}

// watermarkDatasets opens the config's state (no source) and selects the
// datasets named.
func watermarkDatasets(cmd *cobra.Command, g *globals, path string, names []string) (*pipeline.Env, []*config.Dataset, func(), error) {
	env, closeEnv, err := openEnv(cmd.Context(), g, path, "", open.Options{})
	if err != nil {
		return nil, nil, nil, err
	}
	ds, err := pipeline.SelectDatasets(env.Config, names)
	if err != nil {
		closeEnv()
		return nil, nil, nil, usageError(err)
	}
	return env, ds, closeEnv, nil
}
