package source

import (
	"context"
	"errors"
	"time"

	"github.com/countydatasync/countysync/internal/record"
)

// Source is an open connection to a county database.
type Source interface {
	// Query runs the dataset's query and streams its rows. With a non-nil
	// filter that names a cursor Column only rows whose cursor column is
	// >= filter.Min (and, per filter.Nulls, rows whose cursor is NULL) are
	// returned; filter.OrderBy asks for the rows in key order and
	// filter.Horizon for the transactions in flight (see Filter).
	Query(ctx context.Context, query string, filter *Filter) (Rows, error)
	// Close releases the connection.
	Close() error
}

// Rows streams the result of a query. It is not safe for concurrent use.
//
// An error of the query may come from Query itself or, when the driver
// only meets it while reading (a NULL cursor under NullError, an error the
// database raises for a later row), from Err after Next returned false.
type Rows interface {
	// Schema describes the columns; valid before the first Next, also
	// for an empty result.
	Schema() *record.Schema
	// Next advances to the next row and reports whether there is one.
	// After it returned false it keeps returning false.
	Next() bool
	// Row returns the current row, one value per Schema column; calling
	// it again without Next returns the same row. The slice and the byte
	// slices inside it are reused by the next call to Next: a caller that
	// keeps a row clones it (record.Row.Clone). The caller may modify the
	// row in place; Next overwrites every value.
	Row() record.Row
	// Err returns the error that ended iteration, if any: nil when the
	// rows were read to the end or Close ended them early.
	Err() error
	// Close ends the query early and releases its resources without
	// reading the rest of the result. It is safe to call more than once,
	// and after Next returned false.
	Close()
	// Ordered reports whether the rows come in the key order the filter's
	// OrderBy asked for (see KeyOrder); false when none was asked for or
	// the driver could not promise it for the columns' types. Valid
	// before the first Next.
	Ordered() bool
	// Horizon describes the transactions that were in flight when the
	// query took its snapshot, when the filter asked for it and the
	// database has concurrent writers; nil otherwise. Valid before the
	// first Next.
	Horizon() *Horizon
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

// Filter restricts a query to rows at or after a cursor value, and asks
// for the rows in key order and for the query's transaction horizon.
type Filter struct {
	// Column is the cursor column of the query's result; "" reads every
	// row (Min and Nulls are then ignored).
	Column string
	// Min is the lowest cursor value to return (watermark minus lookback).
	// A Null Min means no lower bound.
	Min record.Value
	// Nulls is the policy for rows whose cursor is NULL.
	Nulls NullCursor
	// OrderBy names the key columns (of the query's result) to return the
	// rows sorted by, ascending by each in turn, the order a snapshot
	// (package format/snapshot) keeps its rows in. A driver honours it
	// when it can promise that order for every named column's type and
	// reports so with Rows.Ordered; otherwise the rows come in the query's
	// own order and the caller sorts them itself. Both drivers order
	//
	//	Int, Bool   numerically (false before true)
	//	Text        byte by byte in UTF-8 (COLLATE "C" in PostgreSQL, BINARY in SQLite)
	//	UUID        byte by byte, the order of the canonical text (PostgreSQL)
	OrderBy []string
	// Horizon asks the driver to note, just before the query takes its
	// snapshot, the transactions still open (Rows.Horizon).
	Horizon bool
}

// Horizon is what a driver saw of the other transactions of its database
// just before a query took its snapshot: a transaction open then may
// still commit rows the query could not see, with cursor values below
// the highest the query read. The pipeline keeps the watermark below it
// (see docs/ARCHITECTURE.md, Incremental runs).
type Horizon struct {
	// Now is the database's clock when the transactions were listed,
	// before the snapshot.
	Now time.Time
	// NowLocal is Now as a timestamp without time zone in the session's
	// TimeZone, the way now()::timestamp writes it.
	NowLocal time.Time
	// Open is the number of other transactions open then (sessions of
	// this database, also idle in transaction).
	Open int
	// OldestStart is the start of the oldest of them (zero if Open is 0);
	// a transaction's now() is its start. OldestLocal is the same time
	// without time zone, as NowLocal.
	OldestStart, OldestLocal time.Time
	// OldestPID is the backend process of the oldest transaction.
	OldestPID int
	// Hidden counts sessions of this database whose transactions the role
	// may not see (pg_stat_activity shows "<insufficient privilege>"):
	// the horizon cannot account for them.
	Hidden int
}

// ErrUnreachable wraps errors that mean the database could not be reached
// (as opposed to a bad query); callers may retry these.
var ErrUnreachable = errors.New("source unreachable")

// ErrQuery wraps errors caused by the query itself (syntax, missing table,
// permissions, an invalid incremental Filter, a NULL cursor under
// NullError): retrying will not help.
var ErrQuery = errors.New("query failed")

// IsPermanent reports whether err is a source failure that running the
// same query again cannot fix: one wrapping ErrQuery. Unreachable
// databases, context errors and other failures are not permanent.
func IsPermanent(err error) bool { return errors.Is(err, ErrQuery) }

// KeySorter is implemented by sources whose SQL needs more than the
// column to sort it the way snapshots order keys: integers and other
// numbers by value, text byte by byte (PostgreSQL's COLLATE "C"). The
// keys-only query of incremental.deletes: keys sorts with it; a source
// without it sorts by the bare column.
type KeySorter interface {
	// SortKey returns the ORDER BY term for the quoted column of kind.
	SortKey(quoted string, kind record.Kind) string
}
