package cli

import (
	"fmt"
	"strings"

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
			for _, w := range lateCommitWarnings(cfg) {
				fmt.Fprintf(g.stderr, "warning: %s\n", w)
			}
			fmt.Fprintf(g.stdout, "%s: ok (%d datasets)\n", path, len(cfg.Datasets))
			return nil
		},
	}
	c.Flags().StringVarP(&path, "config", "c", "", "config file (required)")
	_ = c.MarkFlagRequired("config")
	return c
}

// lateCommitWarnings names the incremental datasets whose late commits
// nothing protects (see docs/ARCHITECTURE.md, Incremental runs): a
// PostgreSQL source keeps the watermark below the transactions in flight
// for every cursor kind; a SQLite source cannot list them, which is safe
// only for cursors set inside the writing transaction, so a dataset there
// without a lookback gets a warning.
func lateCommitWarnings(cfg *config.Config) []string {
	if !strings.HasPrefix(strings.ToLower(cfg.Source.URL), "sqlite:") {
		return nil
	}
	var out []string
	for _, d := range cfg.Datasets {
		if d.Incremental == nil || d.Incremental.Lookback > 0 {
			continue
		}
		out = append(out, fmt.Sprintf("dataset %s: incremental on %s with a SQLite source and no lookback: "+
			"a row is safe only if %s is set inside the transaction that writes it (CURRENT_TIMESTAMP, an INTEGER PRIMARY KEY); "+
			"for values computed before the write set incremental.lookback (timestamp and date cursors)",
			d.Name, d.Incremental.Column, d.Incremental.Column))
	}
	return out
}
