package format

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Spec describes one output format. The registry below is the only place
// the list of formats and their properties is declared; the config, the
// pipeline and the queue read it from here.
type Spec struct {
	// Name is the format's name in configs and on the command line.
	Name string
	// Ext is the file extension, without the dot.
	Ext string
	// NeedsGeometry is set for the formats that need the dataset's
	// geometry column (geojson, gpkg): a dataset without one cannot list
	// them, and default or command-line format lists skip them for it.
	NeedsGeometry bool
	// WritesWKT is set for the formats that write the geometry value as
	// WKT text (csv, json, sqlite), so that rendering the WKT once per row
	// can be shared between them; geojson and gpkg write their own
	// encodings.
	WritesWKT bool
	// Default is set for the formats a dataset is published in when
	// neither it nor the config names any (all but gpkg, which is
	// opt-in).
	Default bool

	// open creates the writer; keyIdx and geomIdx are the schema indexes
	// of opts.KeyColumns and opts.GeometryColumn (-1 if none).
	open func(path string, opts Options, keyIdx []int, geomIdx int) (Writer, error)
}

// registry lists the formats in the order they are rendered.
var registry = []Spec{
	{Name: "sqlite", Ext: "sqlite", WritesWKT: true, Default: true,
		open: func(path string, opts Options, keyIdx []int, _ int) (Writer, error) {
			return writer(newSQLite(path, opts, keyIdx))
		}},
	{Name: "csv", Ext: "csv", WritesWKT: true, Default: true,
		open: func(path string, opts Options, _ []int, _ int) (Writer, error) {
			return writer(newCSV(path, opts))
		}},
	{Name: "json", Ext: "json", WritesWKT: true, Default: true,
		open: func(path string, opts Options, _ []int, _ int) (Writer, error) {
			return writer(newJSON(path, opts))
		}},
	{Name: "geojson", Ext: "geojson", NeedsGeometry: true, Default: true,
		open: func(path string, opts Options, keyIdx []int, geomIdx int) (Writer, error) {
			return writer(newGeoJSON(path, opts, keyIdx, geomIdx))
		}},
	{Name: "gpkg", Ext: "gpkg", NeedsGeometry: true,
		open: func(path string, opts Options, keyIdx []int, geomIdx int) (Writer, error) {
			return writer(newGPKG(path, opts, keyIdx, geomIdx))
		}},
}

// writer turns a constructor's concrete result into a Writer, so a failed
// constructor gives a nil interface rather than a typed nil pointer.
func writer[W Writer](w W, err error) (Writer, error) {
	if err != nil {
		return nil, err
	}
	return w, nil
}

// Lookup returns the format called name.
func Lookup(name string) (Spec, bool) {
	i := slices.IndexFunc(registry, func(s Spec) bool { return s.Name == name })
	if i < 0 {
		return Spec{}, false
	}
	return registry[i], true
}

// All returns every format, in the order they are rendered.
func All() []Spec { return slices.Clone(registry) }

// Names returns the names of every format, in the order they are rendered.
func Names() []string {
	names := make([]string, len(registry))
	for i, s := range registry {
		names[i] = s.Name
	}
	return names
}

// DefaultNames returns the names of the formats with Default set, in the
// order they are rendered.
func DefaultNames() []string {
	var names []string
	for _, s := range registry {
		if s.Default {
			names = append(names, s.Name)
		}
	}
	return names
}

// Ext returns the file extension (without the dot) of the format called
// name, or "" if there is none.
func Ext(name string) string {
	s, _ := Lookup(name)
	return s.Ext
}

// New creates the file at path and returns a Writer rendering
// opts.Dataset in the format called name (see Names).
// The key columns and the geometry column must be in opts.Schema. The
// caller writes every row, then calls Close exactly once, also after an
// error (and removes the file after an error).
func New(name, path string, opts Options) (Writer, error) {
	spec, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("dataset %s: %w %q (supported: %s)", opts.Dataset, ErrUnknownFormat, name, strings.Join(Names(), ", "))
	}
	if opts.Schema == nil {
		return nil, fmt.Errorf("dataset %s: %s writer: no schema", opts.Dataset, name)
	}
	keyIdx := make([]int, len(opts.KeyColumns))
	for n, col := range opts.KeyColumns {
		i, err := opts.Schema.MustIndex(col)
		if err != nil {
			return nil, fmt.Errorf("dataset %s: key_columns: %w", opts.Dataset, err)
		}
		keyIdx[n] = i
	}
	geomIdx := -1
	if opts.GeometryColumn != "" {
		i, err := opts.Schema.MustIndex(opts.GeometryColumn)
		if err != nil {
			return nil, fmt.Errorf("dataset %s: geometry column: %w", opts.Dataset, err)
		}
		geomIdx = i
	}
	return spec.open(path, opts, keyIdx, geomIdx)
}

// ErrUnknownFormat is returned (wrapped) by New for a format name it does
// not know.
var ErrUnknownFormat = errors.New("unknown format")
