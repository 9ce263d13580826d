// Package format renders a dataset's rows into files: one Writer per
// format (csv, json, geojson, sqlite, gpkg). The value mapping of every
// format is the table in DESIGN.md §7; writers append into reused buffers
// with strconv instead of encoding/json so a row costs no per-value
// allocation. The sqlite and gpkg formats share one SQLite loader
// (sqliteWriter) that differs only in its sqliteTable.
//
// A writer writes to a local path (a temporary name chosen by the caller);
// publishing the file under its final name is the storage layer's job.
package format
