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
	// Worker configures `countysync worker`.
	Worker Worker `yaml:"worker"`
	// Dashboard configures `countysync dashboard`.
	Dashboard Dashboard `yaml:"dashboard"`
	// Formats is the default list of formats for datasets that do not
	// name their own, from sqlite, csv, json, geojson and gpkg (see
	// format.Names); geojson and gpkg are left out for datasets without a
	// geometry column. Defaults to format.DefaultNames: sqlite, csv, json,
	// geojson (gpkg is opt-in).
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
	// Keep is how many timestamped files of each dataset and format stay
	// after a successful publish; older ones are deleted. 0 (the default)
	// keeps every file.
	Keep int `yaml:"keep"`
}

// State configures where watermarks and locks live.
type State struct {
	// URL is redis://host:6379/0 (rediss:// for TLS),
	// redis-sentinel://[:PASSWORD@]HOST:PORT[,HOST:PORT...]/MASTER[/DB]
	// for a primary found through Sentinel, or file://PATH for a state
	// file.
	// Defaults to file://<storage root>/.countysync/state.json for local
	// storage. Overridden by COUNTYSYNC_REDIS_URL.
	URL string `yaml:"url"`
	// Prefix starts every Redis key CountyDataSync writes, so several
	// deployments can share one Redis. Defaults to state.DefaultPrefix,
	// "countysync". (asynq's own keys start with "asynq:"; give
	// deployments that share a Redis different database numbers.)
	Prefix string `yaml:"prefix"`
	// LockLease is how long a dataset lock lives without renewal in
	// distributed mode. Defaults to 2m; workers renew it while they work.
	LockLease Duration `yaml:"lock_lease"`
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
	// Formats overrides Config.Formats for this dataset; geojson and gpkg
	// need Geometry.
	Formats []string `yaml:"formats"`
	// Schema is what an incremental run does when the query's columns
	// changed since the snapshot (added, dropped, renamed or retyped):
	// "evolve" (the default) runs the dataset full, so every file gets the
	// new columns with real values, and the report says why; "freeze"
	// fails the dataset listing the differences.
	Schema string `yaml:"schema"`
	// Schedule is a cron expression ("0 2 * * *", or "@daily") on which
	// `countysync scheduler` enqueues the dataset. Optional.
	Schedule string `yaml:"schedule"`

	// Transform is the compiled form of Transformations.
	Transform *transform.Set `yaml:"-"`
	// Line is the line of the dataset in the config file.
	Line int `yaml:"-"`
}

// Incremental configures incremental runs of a dataset (see
// docs/ARCHITECTURE.md, Incremental runs).
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
	// MaxFuture is how far past the source's clock a cursor value may be
	// and still become the watermark; a row beyond it (a clock error, a
	// typo in a year) is exported, named in the report's warnings, and
	// leaves the watermark where the other rows put it. Non-finite
	// numbers never become the watermark. Defaults to 1h.
	MaxFuture Duration `yaml:"max_future"`
	// Deletes is how an incremental run finds rows deleted from the
	// source: "" (the default: only DeletedColumn) or "keys", which reads
	// the query's key columns alone, in key order, and removes from the
	// files every key the source no longer holds (hard deletes; a changed
	// key is a delete and an insert). Needs key_columns that no
	// transformation changes.
	Deletes string `yaml:"deletes"`
	// DeletesEvery, with Deletes: keys, compares the keys only when this
	// long has passed since the last comparison (recorded in the
	// snapshot). Defaults to 0: every run.
	DeletesEvery Duration `yaml:"deletes_every"`
}

// Geometry configures the geometry column of a dataset.
type Geometry struct {
	// Column holds WKT text, WKB/EWKB bytes or a PostGIS geometry.
	Column string `yaml:"column"`
	// Precision is the number of decimals of GeoJSON coordinates.
	// Defaults to 7 (about 1 cm).
	Precision int `yaml:"precision"`
	// SRID is the EPSG code of the source's coordinates for geometries
	// that carry none (WKT, WKB, SRID 0 in PostGIS, a plain SQLite
	// table); a geometry's own SRID (EWKB, PostGIS, GeoPackage and
	// SpatiaLite blobs) wins over it. GeoJSON and GeoPackage get the
	// coordinates reprojected to WGS 84 lon/lat with PROJ. 0 (unset)
	// takes SRID-0 geometries as lon/lat after checking every coordinate
	// is within ±180/±90.
	SRID int `yaml:"srid"`
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

// Worker configures `countysync worker`.
type Worker struct {
	// Concurrency is the number of tasks a worker runs at once.
	// Defaults to the number of CPUs.
	Concurrency int `yaml:"concurrency"`
	// Queues maps queue names (extract, export, publish) to priorities.
	// Defaults to publish 6, export 3, extract 1: finishing jobs first.
	Queues map[string]int `yaml:"queues"`
	// Listen is the address of the health (/healthz, /readyz) and
	// Prometheus (/metrics) endpoint. Defaults to 127.0.0.1:9090; "" in
	// the config keeps the default, "off" disables it.
	Listen string `yaml:"listen"`
	// ShutdownTimeout is how long a worker waits for running tasks on
	// SIGTERM before asynq hands them back to the queue. Defaults to 30s.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
}

// Dashboard configures `countysync dashboard`.
type Dashboard struct {
	// Listen is the address to serve on. Defaults to 127.0.0.1:8080. A
	// non-loopback address needs basic auth (COUNTYSYNC_DASHBOARD_USER and
	// COUNTYSYNC_DASHBOARD_PASSWORD).
	Listen string `yaml:"listen"`
	// ReadOnly hides and refuses every action that changes queues.
	ReadOnly bool `yaml:"read_only"`
}
