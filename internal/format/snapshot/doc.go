// Package snapshot stores the snapshot of a dataset: its typed, key-ordered
// rows after transformations and the incremental merge, the one input every
// format of a run is rendered from, so all formats of one run show exactly
// the same rows (see docs/ARCHITECTURE.md, Snapshots and row order).
//
// A snapshot is a SQLite file with a table of rows keyed by the dataset's
// key columns; each row is kept whole in record's exact binary row codec,
// so types survive exactly (microseconds, numeric digits, geometry bytes).
// SQLite's B-tree gives the merge by key and the ordered read in memory
// independent of the row count. Datasets without key columns append rows
// in arrival order.
package snapshot
