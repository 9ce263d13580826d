package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/countydatasync/countysync/internal/crs"
	"github.com/countydatasync/countysync/internal/format"
	"github.com/countydatasync/countysync/internal/redact"
	"github.com/countydatasync/countysync/internal/state"
	"github.com/countydatasync/countysync/internal/transform"
)

// DefaultStorageURL is used when the config names no storage.
const DefaultStorageURL = "file://./exports"

// DefaultPrecision is the default number of GeoJSON coordinate decimals.
const DefaultPrecision = 7

var (
	nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	// stampSuffixRE matches names that end like a job stamp.
	stampSuffixRE = regexp.MustCompile(`_[0-9]{8}_[0-9]{6}$`)
	prefixRE      = regexp.MustCompile(`^[A-Za-z0-9_:-]+$`)
)

var queueNames = []string{"extract", "export", "publish"}

func (v *validator) worker(w *Worker) {
	if w.Concurrency < 0 {
		v.errorf("worker.concurrency", "worker.concurrency must be positive")
	}
	if len(w.Queues) == 0 {
		w.Queues = map[string]int{"publish": 6, "export": 3, "extract": 1}
	}
	for q, p := range w.Queues {
		if !slices.Contains(queueNames, q) {
			v.errorf("worker.queues."+q, "worker.queues: unknown queue %q (known: %s)", q, strings.Join(queueNames, ", "))
		}
		if p < 1 {
			v.errorf("worker.queues."+q, "worker.queues.%s: priority must be at least 1", q)
		}
	}
	if w.Listen == "" {
		w.Listen = defaultWorkerListen
	}
	if w.ShutdownTimeout == 0 {
		w.ShutdownTimeout = Duration(defaultShutdownTimeout)
	}
}

type validator struct {
	file string
	pos  positionMap
	dir  string
	// skip holds the sections not validated: ones the command never
	// uses, with a variable left unset (see Unused).
	skip map[string]bool
	errs []error
}

func (v *validator) errorf(path, format string, args ...any) {
	prefix := v.file
	if l := v.pos.line(path); l > 0 {
		prefix = fmt.Sprintf("%s:%d", v.file, l)
	}
	v.errs = append(v.errs, fmt.Errorf("%s: %s", prefix, fmt.Sprintf(format, args...)))
}

func (v *validator) config(c *Config) {
	switch {
	case v.skip["source"]:
	case c.Source.URL == "":
		v.errorf("source", "source.url is required (postgres://… or sqlite:///path.db; or set %s)", EnvSourceURL)
	default:
		u, err := v.sourceURL(c.Source.URL)
		if err != nil {
			v.errorf("source.url", "source.url: %v", err)
		}
		c.Source.URL = u
	}
	if c.Storage.URL == "" {
		c.Storage.URL = DefaultStorageURL
	}
	if !v.skip["storage"] {
		if u, err := v.storageURL(c.Storage.URL); err != nil {
			v.errorf("storage.url", "storage.url: %v", err)
		} else {
			c.Storage.URL = u
		}
	}
	if c.Storage.Keep < 0 {
		v.errorf("storage.keep", "storage.keep must be 0 (keep every file) or the number of files to keep per dataset and format, not %d", c.Storage.Keep)
	}
	if c.State.URL != "" {
		u, err := v.stateURL(c.State.URL)
		if err != nil {
			v.errorf("state.url", "state.url: %v", err)
		}
		c.State.URL = u
	}
	if c.State.LockWait == 0 {
		c.State.LockWait = Duration(defaultLockWait)
	}
	if c.State.LockLease == 0 {
		c.State.LockLease = Duration(defaultLockLease)
	}
	if c.State.Prefix == "" {
		c.State.Prefix = state.DefaultPrefix
	} else if !prefixRE.MatchString(c.State.Prefix) {
		v.errorf("state.prefix", "state.prefix %q: use letters, digits, '_', '-' and ':'", c.State.Prefix)
	}
	v.worker(&c.Worker)
	if c.Dashboard.Listen == "" {
		c.Dashboard.Listen = defaultDashboardListen
	}
	for i, f := range c.Formats {
		if _, ok := format.Lookup(f); !ok {
			v.errorf(fmt.Sprintf("formats[%d]", i), "unknown format %q (known: %s)", f, strings.Join(format.Names(), ", "))
		}
	}
	if dup := firstDuplicate(c.Formats); dup != "" {
		v.errorf("formats", "format %q is listed twice", dup)
	}
	if len(c.Datasets) == 0 {
		v.errorf("datasets", "no datasets: add at least one under datasets:")
	}
	seen := map[string]int{}
	for i, d := range c.Datasets {
		path := fmt.Sprintf("datasets[%d]", i)
		if d == nil {
			v.errorf(path, "dataset %d is empty", i+1)
			continue
		}
		if j, ok := seen[d.Name]; ok && d.Name != "" {
			v.errorf(path+".name", "dataset %q is defined twice (first at dataset %d)", d.Name, j+1)
		}
		seen[d.Name] = i
		v.dataset(c, path, d)
	}
}

func (v *validator) dataset(c *Config, path string, d *Dataset) {
	label := fmt.Sprintf("dataset %q", d.Name)
	switch {
	case d.Name == "":
		label = "dataset " + path[len("datasets"):]
		v.errorf(path, "%s: name is required", label)
	case len(d.Name) > 63 || !nameRE.MatchString(d.Name):
		v.errorf(path+".name", "%s: name must match [a-z][a-z0-9_]* and be at most 63 characters: it names files and the SQLite table", label)
	case stampSuffixRE.MatchString(d.Name):
		v.errorf(path+".name", "%s: name must not end in _YYYYMMDD_HHMMSS: its files would look like another dataset's timestamped files", label)
	}
	if strings.TrimSpace(d.Query) == "" {
		v.errorf(path, "%s: query is required", label)
	}
	for i, k := range d.KeyColumns {
		if strings.TrimSpace(k) == "" {
			v.errorf(fmt.Sprintf("%s.key_columns[%d]", path, i), "%s: key_columns[%d] is empty", label, i)
		}
	}
	if dup := firstDuplicate(d.KeyColumns); dup != "" {
		v.errorf(path+".key_columns", "%s: key column %q is listed twice", label, dup)
	}
	if inc := d.Incremental; inc != nil {
		ip := path + ".incremental"
		if inc.Column == "" {
			v.errorf(ip, "%s: incremental.column is required (the cursor column, e.g. updated_at)", label)
		}
		switch inc.NullCursor {
		case "":
			inc.NullCursor = "include"
		case "include", "skip", "error":
		default:
			v.errorf(ip+".null_cursor", "%s: incremental.null_cursor must be include, skip or error, not %q", label, inc.NullCursor)
		}
		switch {
		case inc.MaxFuture < 0:
			v.errorf(ip+".max_future", "%s: incremental.max_future must not be negative", label)
		case inc.MaxFuture == 0:
			inc.MaxFuture = Duration(defaultMaxFuture)
		}
		switch inc.Deletes {
		case "":
			if inc.DeletesEvery != 0 {
				v.errorf(ip+".deletes_every", "%s: incremental.deletes_every needs incremental.deletes: keys", label)
			}
		case "keys":
			if len(d.KeyColumns) == 0 {
				v.errorf(ip+".deletes", "%s: incremental.deletes: keys needs key_columns to compare", label)
			}
			for _, k := range d.KeyColumns {
				if _, ok := d.Transformations[k]; ok {
					v.errorf(ip+".deletes", "%s: incremental.deletes: keys reads the key columns from the source, but a transformation changes key column %q", label, k)
				}
			}
			if inc.DeletesEvery < 0 {
				v.errorf(ip+".deletes_every", "%s: incremental.deletes_every must not be negative", label)
			}
		default:
			v.errorf(ip+".deletes", "%s: incremental.deletes must be keys (or left out), not %q", label, inc.Deletes)
		}
		if inc.DeletedColumn != "" && len(d.KeyColumns) == 0 {
			v.errorf(ip+".deleted_column", "%s: incremental.deleted_column needs key_columns to know which rows to remove", label)
		}
	}
	switch d.Schema {
	case "":
		d.Schema = SchemaEvolve
	case SchemaEvolve, SchemaFreeze:
	default:
		v.errorf(path+".schema", "%s: schema must be evolve or freeze, not %q", label, d.Schema)
	}
	if g := d.Geometry; g != nil {
		if g.Column == "" {
			v.errorf(path+".geometry", "%s: geometry.column is required", label)
		}
		switch {
		case g.Precision == 0:
			g.Precision = DefaultPrecision
		case g.Precision < 1 || g.Precision > 15:
			v.errorf(path+".geometry.precision", "%s: geometry.precision must be between 1 and 15", label)
		}
		if g.SRID != 0 {
			if err := crs.Check(g.SRID); err != nil {
				v.errorf(path+".geometry.srid", "%s: geometry.srid %d: PROJ does not know EPSG:%d as a coordinate reference system", label, g.SRID, g.SRID)
			}
		}
	}
	if len(d.Formats) == 0 {
		defaults := c.Formats
		if len(defaults) == 0 {
			defaults = format.DefaultNames()
		}
		for _, f := range defaults {
			if spec, _ := format.Lookup(f); !spec.NeedsGeometry || d.Geometry != nil {
				d.Formats = append(d.Formats, f)
			}
		}
	} else {
		for i, f := range d.Formats {
			fp := fmt.Sprintf("%s.formats[%d]", path, i)
			switch spec, ok := format.Lookup(f); {
			case !ok:
				v.errorf(fp, "%s: unknown format %q (known: %s)", label, f, strings.Join(format.Names(), ", "))
			case spec.NeedsGeometry && d.Geometry == nil:
				v.errorf(fp, "%s: %s needs a geometry column: add geometry: {column: …}", label, f)
			}
		}
		if dup := firstDuplicate(d.Formats); dup != "" {
			v.errorf(path+".formats", "%s: format %q is listed twice", label, dup)
		}
	}
	if slices.Contains(d.Formats, "gpkg") && (strings.HasPrefix(d.Name, "gpkg_") || strings.HasPrefix(d.Name, "sqlite_")) {
		v.errorf(path+".name", "%s: names starting with gpkg_ or sqlite_ are reserved for GeoPackage's and SQLite's own tables; rename the dataset to publish it as gpkg", label)
	}
	if d.Schedule != "" {
		if err := checkCron(d.Schedule); err != nil {
			v.errorf(path+".schedule", "%s: schedule %q: %v", label, d.Schedule, err)
		}
	}
	set, err := transform.Compile(d.Transformations)
	if err != nil {
		var ce *transform.CompileError
		for _, e := range unjoin(err) {
			p := path + ".transformations"
			if errors.As(e, &ce) {
				p += "." + ce.Column
			}
			v.errorf(p, "%s: %v", label, e)
		}
	}
	d.Transform = set
}

// unjoin splits an errors.Join error into its parts.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func firstDuplicate(list []string) string {
	seen := map[string]bool{}
	for _, s := range list {
		if seen[s] {
			return s
		}
		seen[s] = true
	}
	return ""
}

// sourceURL checks a source URL and makes a relative sqlite path absolute.
func (v *validator) sourceURL(u string) (string, error) {
	switch {
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		return u, nil
	case strings.HasPrefix(u, "sqlite://"):
		p := strings.TrimPrefix(u, "sqlite://")
		if p == "" {
			return "", errors.New("sqlite:// needs a path: sqlite:///abs/path.db or sqlite://rel/path.db")
		}
		return "sqlite://" + v.abs(p), nil
	}
	return "", fmt.Errorf("unsupported scheme in %q: use postgres://… or sqlite://…", redact.URL(u))
}

func (v *validator) storageURL(u string) (string, error) {
	switch {
	case strings.HasPrefix(u, "file://"):
		p := strings.TrimPrefix(u, "file://")
		if p == "" {
			return "", errors.New("file:// needs a directory, e.g. file://./exports")
		}
		return "file://" + v.abs(p), nil
	case strings.HasPrefix(u, "s3://"):
		return u, nil
	}
	return "", fmt.Errorf("unsupported scheme in %q: use file://DIR or s3://bucket/prefix?endpoint=…", redact.URL(u))
}

func (v *validator) stateURL(u string) (string, error) {
	switch {
	case strings.HasPrefix(u, "file://"):
		return "file://" + v.abs(strings.TrimPrefix(u, "file://")), nil
	case strings.HasPrefix(u, "redis://"), strings.HasPrefix(u, "rediss://"), strings.HasPrefix(u, "redis-sentinel://"):
		return u, nil
	}
	return "", fmt.Errorf("unsupported scheme in %q: use redis://host:6379/0, redis-sentinel://host1:26379,host2:26379/master/0 or file://PATH", redact.URL(u))
}

func (v *validator) abs(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	a, err := filepath.Abs(filepath.Join(v.dir, p))
	if err != nil {
		return filepath.Join(v.dir, p)
	}
	return a
}
