package pipeline_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/demo"
	"github.com/countydatasync/countysync/internal/open"
	"github.com/countydatasync/countysync/internal/pipeline"
)

// Run the demo county through the embedded runner: open the config's
// edges with in-process job records, run every dataset, read the report.
func ExampleRun() {
	dir, _ := os.MkdirTemp("", "countysync-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	cfgPath, err := demo.Write(ctx, dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		fmt.Println(err)
		return
	}
	quiet := slog.New(slog.DiscardHandler)
	env, closeEnv, err := open.Env(ctx, cfg, quiet, open.Options{Source: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer closeEnv()
	rep, err := pipeline.Run(ctx, env, pipeline.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("success:", rep.Success)
	for _, d := range rep.Datasets {
		fmt.Printf("%s: %s, %d records in %d formats\n", d.Name, d.Mode, d.Records, len(d.Artifacts))
	}
	// Output:
	// success: true
	// parcels: full, 250 records in 4 formats
	// permits: full, 400 records in 3 formats
}
