package deploy

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/countydatasync/countysync/internal/cli"
	"github.com/countydatasync/countysync/internal/config"
)

// configPath is where every container finds the config file.
const configPath = "/etc/countysync/config.yaml"

// repoRoot is the repository root (the tests run in deploy/).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found: %v", err)
	}
	return root
}

// commandLine is a countysync command line parsed, not run.
type commandLine struct {
	cmd  *cobra.Command
	argv []string
}

// parseCommandLine parses argv (without the program name) with
// countysync's own command tree the way `countysync argv...` would, without
// running anything: it finds the subcommand, parses its flags, and checks
// the required flags, flag groups and positional arguments.
func parseCommandLine(argv []string) (*commandLine, error) {
	root := cli.NewRoot(io.Discard, io.Discard)
	cmd, rest, err := root.Find(argv)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", argv, err)
	}
	if cmd == root {
		return nil, fmt.Errorf("%q: no countysync subcommand", argv)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		return nil, fmt.Errorf("%q: %w", argv, err)
	}
	if err := cmd.ValidateRequiredFlags(); err != nil {
		return nil, fmt.Errorf("%q: %w", argv, err)
	}
	if err := cmd.ValidateFlagGroups(); err != nil {
		return nil, fmt.Errorf("%q: %w", argv, err)
	}
	if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
		return nil, fmt.Errorf("%q: %w", argv, err)
	}
	return &commandLine{cmd: cmd, argv: argv}, nil
}

// name is the subcommand's name ("worker", "enqueue", …).
func (c *commandLine) name() string { return c.cmd.Name() }

// flag returns a flag's value and whether the command line set it.
func (c *commandLine) flag(name string) (string, bool) {
	f := c.cmd.Flags().Lookup(name)
	if f == nil {
		return "", false
	}
	return f.Value.String(), f.Changed
}

// duration returns a duration flag's value (set or default).
func (c *commandLine) duration(t *testing.T, name string) (time.Duration, bool) {
	t.Helper()
	v, set := c.flag(name)
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("%q: --%s %q is not a duration: %v", c.argv, name, v, err)
	}
	return d, set
}

// parseConfig validates config text the way countysync would in a process
// whose environment is env (and only env).
func parseConfig(name string, data []byte, env map[string]string) (*config.Config, error) {
	return config.Parse(name, data, func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
}

// listenAddr splits a listen address into host and port and reports whether
// it is reachable from outside the container (not loopback).
func listenAddr(t *testing.T, what, addr string) (port int, external bool) {
	t.Helper()
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%s: listen address %q: %v", what, addr, err)
	}
	port, err = strconv.Atoi(p)
	if err != nil {
		t.Fatalf("%s: listen address %q: bad port", what, addr)
	}
	switch host {
	case "", "0.0.0.0", "::":
		return port, true
	case "localhost":
		return port, false
	}
	ip := net.ParseIP(host)
	return port, ip != nil && !ip.IsLoopback()
}

func TestCommandLineParserIsStrict(t *testing.T) {
	// The checks below are only worth something if the parser rejects bad
	// command lines; make sure it does.
	good := [][]string{
		{"worker", "--config", configPath},
		{"enqueue", "--config", configPath, "--wait", "--timeout", "30m"},
		{"dashboard", "--config", configPath},
		{"--log-format", "json", "worker", "-c", configPath},
	}
	for _, argv := range good {
		if _, err := parseCommandLine(argv); err != nil {
			t.Errorf("rejected a valid command line: %v", err)
		}
	}
	bad := map[string][]string{
		"--config is required": {"worker"},
		"unknown flag":         {"worker", "--config", configPath, "--bogus"},
		"not a bool":           {"enqueue", "--config", configPath, "--wait=x"},
		"unknown command":      {"workers", "--config", configPath},
		"status needs JOB_ID":  {"status"},
		"no subcommand":        {"--log-level", "debug"},
	}
	for why, argv := range bad {
		if _, err := parseCommandLine(argv); err == nil {
			t.Errorf("accepted an invalid command line %q (%s)", argv, why)
		}
	}
}
