package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/countydatasync/countysync/internal/config"
)

func newValidateCmd(g *globals) *cobra.Command {
	var path string
	c := &cobra.Command{
		Use:   "validate --config FILE",
		Short: "Check a config file and compile its transformations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(path)
			if err != nil {
				return usageError(err)
			}
			for _, d := range cfg.Datasets {
				fmt.Fprintf(g.stdout, "dataset %s: formats %v\n", d.Name, d.Formats)
			}
			fmt.Fprintf(g.stdout, "%s: ok (%d datasets)\n", path, len(cfg.Datasets))
			return nil
		},
	}
	c.Flags().StringVarP(&path, "config", "c", "", "config file (required)")
	_ = c.MarkFlagRequired("config")
	return c
}
