// Package source defines how CountyDataSync reads a dataset: a Source runs
// one query and streams typed rows (package record) without holding the
// result in memory. The drivers live in the subpackages postgres (pgx) and
// sqlite (go-sqlite3); nothing else in the program reads from a county
// database. Subpackage sourcetest is the conformance suite both drivers
// run.
//
// Incremental runs pass a Filter: the driver wraps the user's query as a
// subquery and adds a parameterised "cursor >= $1" condition, so the user's
// SQL is never edited as a string and the cursor value is never spliced
// into SQL text. The same Filter asks for the rows in key order (OrderBy:
// the driver wraps the query with an ORDER BY that
// reproduces a snapshot's order, or leaves the order alone and says so
// with Rows.Ordered) and for the transactions in flight before the
// query's snapshot (Horizon; PostgreSQL only), which keep the watermark
// below rows that may still commit.
//
// # Errors
//
// A driver's errors wrap ErrUnreachable when the database could not be
// reached (a retry may help) and ErrQuery when the query itself is wrong
// (syntax, missing table or column, permissions, an invalid Filter, a NULL
// cursor under NullError). IsPermanent is true for the latter: running the
// same query again cannot succeed.
package source
