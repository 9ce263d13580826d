package format

import (
	"errors"
	"fmt"
	"strings"
)

// New creates the file at path and returns a Writer rendering opts.Dataset
// in the named format ("csv", "json", "geojson", "sqlite" or "gpkg"; see
// Names).
// The key columns and the geometry column must be in opts.Schema. The
// caller writes every row, then calls Close exactly once, also after an
// error (and removes the file after an error).
func New(format, path string, opts Options) (Writer, error) {
	if opts.Schema == nil {
		return nil, fmt.Errorf("dataset %s: %s writer: no schema", opts.Dataset, format)
	}
	keyIdx := make([]int, len(opts.KeyColumns))
	for n, name := range opts.KeyColumns {
		i, err := opts.Schema.MustIndex(name)
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
	switch format {
	case "csv":
		return newCSV(path, opts)
	case "json":
		return newJSON(path, opts)
	case "geojson":
		return newGeoJSON(path, opts, keyIdx, geomIdx)
	case "sqlite":
		return newSQLite(path, opts, keyIdx)
	case "gpkg":
		return newGPKG(path, opts, keyIdx, geomIdx)
	}
	return nil, fmt.Errorf("dataset %s: %w %q (supported: %s)", opts.Dataset, ErrUnknownFormat, format, strings.Join(Names, ", "))
}

// ErrUnknownFormat is returned (wrapped) by New for a format name it does
// not know.
var ErrUnknownFormat = errors.New("unknown format")
