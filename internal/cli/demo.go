package cli

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/countydatasync/countysync/internal/demo"
)

func newDemoCmd(g *globals) *cobra.Command {
	dir := "."
	c := &cobra.Command{
		Use:   "demo [--dir DIR]",
		Short: "Write a demo county database and config, run them, and list the files written",
		Long: `demo writes ` + demo.DatabaseFile + ` (a SQLite county database with parcels and
permits) and ` + demo.ConfigFile + ` into DIR, runs the config like "countysync run",
prints the report on stdout and lists the files under DIR/exports on stderr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := demo.Write(cmd.Context(), dir)
			if err != nil {
				return failedError(err)
			}
			fmt.Fprintf(g.stderr, "wrote %s and %s\n", filepath.Join(dir, demo.DatabaseFile), cfg)
			runErr := runRun(cmd.Context(), g, &runOptions{jobFlags: jobFlags{configPath: cfg}})
			listExports(g, filepath.Join(dir, "exports"))
			return runErr
		},
	}
	c.Flags().StringVar(&dir, "dir", ".", "directory for the demo database, config and exports")
	return c
}

// listExports prints the published files (and where latest names point).
func listExports(g *globals, dir string) {
	var lines []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && d.Name() == ".countysync" {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		line := rel
		if d.Type()&fs.ModeSymlink != 0 {
			t, _ := os.Readlink(p)
			line += " -> " + t
		} else if info, err := d.Info(); err == nil {
			line = fmt.Sprintf("%s (%d bytes)", rel, info.Size())
		}
		lines = append(lines, line)
		return nil
	})
	sort.Strings(lines)
	fmt.Fprintf(g.stderr, "\nfiles in %s:\n", dir)
	for _, l := range lines {
		fmt.Fprintf(g.stderr, "  %s\n", l)
	}
}
