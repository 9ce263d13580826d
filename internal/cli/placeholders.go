package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

func runDashboard(cmd *cobra.Command, g *globals, o *dashboardOptions) error {
	return errors.New("not implemented yet")
}

func runScheduler(cmd *cobra.Command, g *globals, path string) error {
	return errors.New("not implemented yet")
}
