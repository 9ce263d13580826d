package pipeline

import (
	"log/slog"
	"time"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/format"
	"github.com/countydatasync/countysync/internal/source"
	"github.com/countydatasync/countysync/internal/state"
	"github.com/countydatasync/countysync/internal/storage"
)

// Env is what the steps run against: the config and the open edges. The
// composition root (internal/open) fills it; the steps see interfaces
// only.
type Env struct {
	Config *config.Config
	Source source.Source
	Store  storage.Store
	// State keeps watermarks and the dataset locks.
	State state.Store
	// Jobs keeps the job records and each dataset's fan-in: in process for
	// the embedded runner, in Redis for workers.
	Jobs state.Jobs
	// Snapshots caches the snapshots this process extracted or fetched;
	// nil downloads a snapshot every time a step needs it.
	Snapshots *SnapshotCache
	Log       *slog.Logger
	// Progress, when non-nil, receives row counts for a live progress
	// line.
	Progress *Progress
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
}

func (e *Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// Options select what a job does.
type Options struct {
	// Datasets to run, by name; all when empty.
	Datasets []string `json:"-"`
	// Formats overrides the datasets' formats when non-empty (formats a
	// dataset cannot have, geojson and gpkg without geometry, are
	// skipped).
	Formats []string `json:"formats,omitempty"`
	// Full rebuilds every dataset from scratch and resets its watermark.
	Full bool `json:"full,omitempty"`
	// Incremental requires every selected dataset to be incremental.
	Incremental bool `json:"incremental,omitempty"`
	// Strict fails a dataset on its first unparsable geometry.
	Strict bool `json:"strict,omitempty"`
}

// FormatsFor returns the formats a dataset is rendered in for opts: its
// own, or opts.Formats without the formats that need a geometry column
// (geojson, gpkg) when it has none.
func FormatsFor(d *config.Dataset, opts Options) []string {
	if len(opts.Formats) == 0 {
		return d.Formats
	}
	var out []string
	for _, f := range opts.Formats {
		if spec, _ := format.Lookup(f); spec.NeedsGeometry && d.Geometry == nil {
			continue
		}
		out = append(out, f)
	}
	return out
}
