package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/countydatasync/countysync/internal/record"
	"github.com/countydatasync/countysync/internal/source"
)

// Rows streams the result of one Query. It is not safe for concurrent use.
type Rows struct {
	src     *Source
	ctx     context.Context
	rows    *sql.Rows
	schema  *record.Schema
	classes []class
	row     record.Row
	vals    []any
	dest    []any

	cursor     int // cursor column index, or -1
	cursorName string
	nullErr    bool       // NullError policy
	minTime    *time.Time // exact timestamp lower bound, checked in Go
	ordered    bool       // sorted by Filter.OrderBy

	invalid []int64 // invalid UTF-8 values per column
	pending bool
	done    bool
	err     error
	n       int64
	started time.Time
}

var _ source.Rows = (*Rows)(nil)

// Schema describes the result columns.
func (r *Rows) Schema() *record.Schema { return r.schema }

// Row returns the current row.
func (r *Rows) Row() record.Row { return r.row }

// Ordered reports whether the rows come in the key order asked for.
func (r *Rows) Ordered() bool { return r.ordered }

// Horizon is always nil: SQLite has one writer at a time, and a row is
// visible from its commit on, so no transaction can be in flight with
// rows below what a reader saw (see the package documentation).
func (r *Rows) Horizon() *source.Horizon { return nil }

// Err returns the error that ended iteration, if any.
func (r *Rows) Err() error { return r.err }

// Next advances to the next row.
func (r *Rows) Next() bool {
	if r.pending {
		r.pending = false
		return true
	}
	return r.advance()
}

// advance reads the next row that passes the exact cursor check.
func (r *Rows) advance() bool {
	if r.done {
		return false
	}
	for r.rows.Next() {
		if err := r.rows.Scan(r.dest...); err != nil {
			r.end(fmt.Errorf("sqlite source %s: read row %d: %w", r.src.path, r.n+1, err))
			return false
		}
		for i, raw := range r.vals {
			r.row[i] = r.convert(i, raw)
			r.vals[i] = nil
		}
		if r.cursor >= 0 {
			cv := &r.row[r.cursor]
			if cv.Kind == record.Null {
				if r.nullErr {
					r.end(fmt.Errorf("sqlite source %s: %w: incremental cursor column %q is NULL in row %d and null_cursor is %q",
						r.src.path, source.ErrQuery, r.cursorName, r.n+1, source.NullError))
					return false
				}
			} else if r.minTime != nil && before(cv, *r.minTime) {
				continue
			}
		}
		r.n++
		return true
	}
	var err error
	if e := r.rows.Err(); e != nil {
		err = r.src.queryError(r.ctx, e)
	}
	r.end(err)
	return false
}

// before reports whether a timestamp cursor value is earlier than min.
// Values of other kinds (unparsable text) are kept.
func before(v *record.Value, min time.Time) bool {
	if (v.Kind != record.Timestamp && v.Kind != record.TimestampTZ) || v.S != "" {
		return false
	}
	return v.T.Before(min)
}

// end releases the statement and records err.
func (r *Rows) end(err error) {
	if r.done {
		return
	}
	r.done = true
	if r.err == nil {
		r.err = err
	}
	_ = r.rows.Close()
	for i, n := range r.invalid {
		if n > 0 {
			r.src.log.Warn("sqlite source: invalid UTF-8 replaced with U+FFFD",
				"path", r.src.path, "column", r.schema.Columns[i].Name, "values", n)
		}
	}
	r.src.log.Debug("sqlite query done", "path", r.src.path, "rows", r.n, "duration", time.Since(r.started), "error", r.err)
}

// Close ends the query early. It is safe to call more than once.
func (r *Rows) Close() {
	r.pending = false
	r.end(nil)
}
