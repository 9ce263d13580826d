// Command countysync publishes county database tables as SQLite, CSV, JSON,
// GeoJSON and GeoPackage files. See the README and `countysync help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/countydatasync/countysync/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
