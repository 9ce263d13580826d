// Package source defines how CountyDataSync reads a dataset: a Source runs
// one query and streams typed rows (package record) without holding the
// result in memory. The drivers live in the subpackages postgres (pgx) and
// sqlite (go-sqlite3); nothing else in the program imports a database
// driver.
//
// Incremental runs pass a Filter: the driver wraps the user's query as a
// subquery and adds a parameterised "cursor >= $1" condition, so the user's
// SQL is never edited as a string and the cursor value is never spliced
// into SQL text.
package source
