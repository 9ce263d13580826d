package format

import (
	"github.com/countydatasync/countysync/internal/record"
)

// Writer renders rows of one dataset into one file.
type Writer interface {
	// WriteRow renders one row. The row is only valid during the call.
	WriteRow(r record.Row) error
	// Close finishes and flushes the file. After a WriteRow error the
	// caller still calls Close, then removes the file.
	Close() error
}

// Options describe the dataset a writer renders.
type Options struct {
	// Dataset is the dataset name, used in error messages and to name the
	// SQLite table "<dataset>_data" and the GeoPackage feature table.
	Dataset string
	// Schema is the column list, after transformations.
	Schema *record.Schema
	// KeyColumns are the merge key columns: the SQLite primary key, the
	// GeoPackage unique index, and the first one is the GeoJSON feature
	// id. May be empty.
	KeyColumns []string
	// GeometryColumn names the geometry column, or "" if none. In GeoJSON
	// it becomes the feature geometry and is left out of the properties;
	// in GeoPackage it is the feature table's geometry column (required).
	GeometryColumn string
	// Precision is the number of decimals of GeoJSON coordinates.
	// Defaults to 7.
	Precision int
}
