package pipeline

import (
	"log/slog"
	"time"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/source"
	"github.com/countydatasync/countysync/internal/state"
	"github.com/countydatasync/countysync/internal/storage"
)

// Env is what the steps run against: the config and the open edges.
type Env struct {
	Config *config.Config
	Source source.Source
	Store  storage.Store
	State  state.Store
	Log    *slog.Logger
	// Progress, when non-nil, receives row counts for a live progress
	// line.
	Progress *Progress
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
}

// CurrentTime returns the Env's clock reading.
func (e *Env) CurrentTime() time.Time { return e.now() }

func (e *Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// Options select what a job does.
type Options struct {
	// Datasets to run, by name; all when empty.
	Datasets []string
	// Formats overrides the datasets' formats when non-empty (formats a
	// dataset cannot have, geojson and gpkg without geometry, are
	// skipped).
	Formats []string
	// Full rebuilds every dataset from scratch and resets its watermark.
	Full bool
	// Incremental requires every selected dataset to be incremental.
	Incremental bool
	// Strict fails a dataset on its first unparsable geometry.
	Strict bool
}
