// Package sourcetest is the conformance suite every source.Source driver
// runs (PostgreSQL, SQLite): the same contract, checked the same way.
//
// A driver's test supplies a Harness that creates tables from a neutral
// description (Table: columns of a few kinds, rows of record values) in
// the driver's own SQL and opens a Source on them. Run then checks what
// the rest of the program relies on: the schema, the values of each kind
// and NULLs, the incremental Filter (>= on the cursor column, the NULL
// cursor policies), quoted identifiers, the reuse of rows, Close in the
// middle of a result, Err after the last row, and that a bad query is an
// error wrapping source.ErrQuery. Collect, Describe and Equal are helpers
// for the drivers' own tests.
package sourcetest
