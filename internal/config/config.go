package config

import (
	"time"

	"github.com/countydatasync/countysync/internal/transform"
)

// Config is a loaded, validated configuration.
type Config struct {
	// Path is the file the config was loaded from ("" when built in code).
	Path string `yaml:"-"`
	// Source is the database the datasets are read from.
	Source Source `yaml:"source"`
	// Storage is where artifacts and manifests are written.
	Storage Storage `yaml:"storage"`
	// State holds watermarks and locks. Defaults to a state file under the
	// storage root (local storage only).
	State State `yaml:"state"`
	// Formats is the default list of formats for datasets that do not
	// name their own. Defaults to all formats: sqlite, csv, json, geojson
	// (geojson only for datasets with a geometry column).
	Formats []string `yaml:"formats"`
	// Datasets are the queries to publish, in order.
	Datasets []*Dataset `yaml:"datasets"`
}

// Source configures the database connection.
type Source struct {
	// URL is postgres://user:pass@host:port/db?sslmode=… or
	// sqlite:///abs/path.db or sqlite://rel/path.db. Overridden by
	// COUNTYSYNC_SOURCE_URL.
	URL string `yaml:"url"`
}

// Storage configures where artifacts go.
type Storage struct {
	// URL is file://DIR (default file://./exports) or
	// s3://bucket/prefix?endpoint=host:9000&secure=false. Overridden by
	// COUNTYSYNC_STORAGE_URL.
	URL string `yaml:"url"`
}

// State configures where watermarks and locks live.
type State struct {
	// URL is redis://host:6379/0, or file://PATH for a state file.
	// Defaults to file://<storage root>/.countysync/state.json for local
	// storage. Overridden by COUNTYSYNC_REDIS_URL.
	URL string `yaml:"url"`
	// LockWait is how long a run waits for another run of the same
	// dataset to finish before it fails. Defaults to 30s.
	LockWait Duration `yaml:"lock_wait"`
}

// Dataset is one named query.
type Dataset struct {
	// Name names the files (<name>_<ts>.<ext>) and the SQLite table
	// (<name>_data): [a-z][a-z0-9_]*, at most 63 characters.
	Name string `yaml:"name"`
	// Query is the SQL that produces the dataset's rows.
	Query string `yaml:"query"`
	// KeyColumns identify a row: merge key of incremental runs, SQLite
	// primary key, GeoJSON feature id (first column).
	KeyColumns []string `yaml:"key_columns"`
	// Incremental makes runs read only rows changed since the watermark.
	Incremental *Incremental `yaml:"incremental"`
	// Transformations maps a column to an expression (see package
	// transform) applied to every row.
	Transformations map[string]string `yaml:"transformations"`
	// Geometry names the geometry column, if any.
	Geometry *Geometry `yaml:"geometry"`
	// Formats overrides Config.Formats for this dataset.
	Formats []string `yaml:"formats"`

	// Transform is the compiled form of Transformations.
	Transform *transform.Set `yaml:"-"`
	// Line is the line of the dataset in the config file.
	Line int `yaml:"-"`
}

// Incremental configures incremental runs of a dataset (DESIGN.md §8).
type Incremental struct {
	// Column is the cursor column: timestamptz, timestamp, date, integer
	// or numeric.
	Column string `yaml:"column"`
	// Lookback re-reads rows this far behind the watermark so late
	// commits are not lost. Defaults to 0 (the boundary itself is always
	// re-read: the filter is >=).
	Lookback Duration `yaml:"lookback"`
	// DeletedColumn, when set, removes rows where it is true from the
	// published files.
	DeletedColumn string `yaml:"deleted_column"`
	// NullCursor is what to do with rows whose cursor is NULL: include
	// (default; re-read every run, merged by key), skip, or error.
	NullCursor string `yaml:"null_cursor"`
}

// Geometry configures the geometry column of a dataset.
type Geometry struct {
	// Column holds WKT text, WKB/EWKB bytes or a PostGIS geometry.
	Column string `yaml:"column"`
	// Precision is the number of decimals of GeoJSON coordinates.
	// Defaults to 7 (about 1 cm).
	Precision int `yaml:"precision"`
}

// Duration is a time.Duration written as "5m", "90s", "1h30m".
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Dataset returns the named dataset, or nil.
func (c *Config) Dataset(name string) *Dataset {
	for _, d := range c.Datasets {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// GeometryColumn returns the geometry column name, or "".
func (d *Dataset) GeometryColumn() string {
	if d.Geometry == nil {
		return ""
	}
	return d.Geometry.Column
}
