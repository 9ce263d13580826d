// Package format renders a dataset's rows into files: one Writer per
// format (sqlite, csv, json, geojson, gpkg). The formats are declared once,
// in a registry of Specs (name, file extension, whether the format needs
// a geometry column, whether it writes geometry as WKT, whether it is on
// by default): Lookup, All, Names and DefaultNames read it, and New opens
// a writer by name. Each writer documents how it renders every kind of
// value (csvWriter, appendJSONValue, geojsonWriter, sqliteTable, newGPKG);
// writers append into reused buffers with strconv instead of
// encoding/json so a row costs no per-value allocation. The sqlite and
// gpkg formats share one SQLite loader (sqliteWriter) that differs only in
// its sqliteTable.
//
// A writer writes to a local path (a temporary name chosen by the caller);
// publishing the file under its final name is the storage layer's job.
package format
