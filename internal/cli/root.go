package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	ExitOK     = 0
	ExitFailed = 1
	ExitUsage  = 2
)

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageError(err error) error   { return &exitError{code: ExitUsage, err: err} }
func failedError(err error) error  { return &exitError{code: ExitFailed, err: err} }
func silentFailure(code int) error { return &exitError{code: code} }

// globals are the flags every command has.
type globals struct {
	stdout, stderr io.Writer
	logLevel       string
	logFormat      string
}

// NewRoot builds the command tree; stdout gets reports, stderr logs.
func NewRoot(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "countysync",
		Short: "Publish county database tables as SQLite, CSV, JSON, GeoJSON and GeoPackage",
		Long: `countysync copies datasets out of a county's database (PostgreSQL/PostGIS or
SQLite) and publishes them, from one consistent snapshot, as SQLite, CSV, JSON
and GeoJSON files with timestamped names and a stable "latest" name.

Start with:  countysync demo`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.PersistentFlags().StringVar(&g.logFormat, "log-format", "text", "log format on stderr: text or json")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError(err) })
	root.AddCommand(
		newRunCmd(g),
		newValidateCmd(g),
		newDemoCmd(g),
		newWatermarkCmd(g),
		newWorkerCmd(g),
		newEnqueueCmd(g),
		newStatusCmd(g),
		newDashboardCmd(g),
		newSchedulerCmd(g),
		newVerifyCmd(g),
		newGCCmd(g),
		newVersionCmd(g),
	)
	return root
}

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	tuneGC()
	root := NewRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	code := ExitUsage
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
		if ee.err == nil {
			return code
		}
	} else if !isUsage(err) {
		code = ExitFailed
	}
	fmt.Fprintf(stderr, "countysync: %s\n", oneLine(err.Error()))
	return code
}

func isUsage(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "unknown flag") ||
		strings.Contains(msg, "accepts ") || strings.HasPrefix(msg, "required flag")
}

// oneLine joins a multi-line error (several config problems, a driver's
// indented detail) into the one line the contract promises.
func oneLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	out := lines[:0]
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "; ")
}
