package source

import (
	"context"
	"errors"

	"github.com/countydatasync/countysync/internal/record"
)

// Source is an open connection to a county database.
type Source interface {
	// Query runs the dataset's query and streams its rows. With a non-nil
	// filter only rows whose cursor column is >= filter.Min (and, per
	// filter.Nulls, rows whose cursor is NULL) are returned.
	Query(ctx context.Context, query string, filter *Filter) (Rows, error)
	// Close releases the connection.
	Close() error
}

// Rows streams the result of a query. It is not safe for concurrent use.
type Rows interface {
	// Schema describes the columns; valid before the first Next.
	Schema() *record.Schema
	// Next advances to the next row and reports whether there is one.
	Next() bool
	// Row returns the current row. The slice and the byte slices inside
	// it are reused by the next call to Next.
	Row() record.Row
	// Err returns the error that ended iteration, if any.
	Err() error
	// Close ends the query early and releases its resources. It is safe
	// to call more than once.
	Close()
}

// NullCursor says what an incremental run does with rows whose cursor
// column is NULL.
type NullCursor string

// The policies for rows whose cursor is NULL (config incremental.null_cursor).
const (
	// NullInclude re-reads NULL-cursor rows on every run; the merge by key
	// makes that idempotent. The default.
	NullInclude NullCursor = "include"
	// NullSkip leaves NULL-cursor rows out of incremental runs.
	NullSkip NullCursor = "skip"
	// NullError fails the run if a NULL cursor is seen.
	NullError NullCursor = "error"
)

// Filter restricts a query to rows at or after a cursor value.
type Filter struct {
	// Column is the cursor column of the query's result.
	Column string
	// Min is the lowest cursor value to return (watermark minus lookback).
	// A Null Min means no lower bound.
	Min record.Value
	// Nulls is the policy for rows whose cursor is NULL.
	Nulls NullCursor
}

// ErrUnreachable wraps errors that mean the database could not be reached
// (as opposed to a bad query); callers may retry these.
var ErrUnreachable = errors.New("source unreachable")

// ErrQuery wraps errors caused by the query itself (syntax, missing table,
// permissions): retrying will not help.
var ErrQuery = errors.New("query failed")
