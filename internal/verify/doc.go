// Package verify checks what a storage holds against its manifests, the
// way `restic check --read-data` does: it reads every published file of
// the jobs it is asked about back from storage and compares its size,
// SHA-256 and row count with the manifest, and reads the latest names and
// compares them with the newest file the manifests record. It is
// `countysync verify`.
//
// The rows are counted by readers independent of the writers in
// internal/format: encoding/csv for CSV, encoding/json for JSON and
// GeoJSON, and database/sql over go-sqlite3 for SQLite and GeoPackage
// (the writers use go-sqlite3's connection directly, never database/sql).
//
// verify imports the manifests' reader from internal/pipeline and the
// storage interface; it opens nothing itself.
package verify
