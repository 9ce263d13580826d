package cli

import (
	"os"
	"runtime/debug"
)

// tuneGC trades memory for speed unless the user set GOGC: rows are
// short-lived and the live heap stays small (batches of rows, writer
// buffers), so collecting at 5× the live heap instead of 2× cuts GC work
// by about 15% on a 200,000-parcel export while peak RSS stays near 60 MB
// (BENCHMARKS.md). A soft memory limit of 1 GiB (unless GOMEMLIMIT is set)
// makes the collector work harder before the process grows past it.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(1 << 30)
	}
}
