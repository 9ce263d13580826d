package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/countydatasync/countysync/internal/record"
	"github.com/countydatasync/countysync/internal/source"
	"github.com/countydatasync/countysync/internal/sqltext"
	"github.com/mattn/go-sqlite3"
)

// Query runs query and streams its rows. See the package documentation for
// the value mapping and the filter.
func (s *Source) Query(ctx context.Context, query string, filter *source.Filter) (source.Rows, error) {
	q := sqltext.TrimStatement(query)
	if q == "" {
		return nil, fmt.Errorf("sqlite source: %w: the query is empty", source.ErrQuery)
	}
	names, decls, err := s.probe(ctx, q)
	if err != nil {
		return nil, err
	}
	r := &Rows{
		src:     s,
		ctx:     ctx,
		schema:  &record.Schema{Columns: make([]record.Column, len(names))},
		classes: make([]class, len(names)),
		row:     make(record.Row, len(names)),
		vals:    make([]any, len(names)),
		dest:    make([]any, len(names)),
		invalid: make([]int64, len(names)),
		cursor:  -1,
	}
	unwrap := false
	for i, name := range names {
		c, kind := classify(decls[i])
		r.classes[i] = c
		r.schema.Columns[i] = record.Column{Name: name, Kind: kind, SourceType: decls[i]}
		r.dest[i] = &r.vals[i]
		if convertedByDriver(decls[i]) {
			unwrap = true
		}
	}
	stmt, args, err := r.buildSQL(q, names, decls, unwrap, filter)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, stmt, args...)
	if err != nil {
		return nil, s.queryError(ctx, err)
	}
	r.rows = rows
	r.started = time.Now()
	// Read ahead one row: it fixes the kinds of columns without a usable
	// declared type, and surfaces errors of the first step here.
	if r.advance() {
		r.pending = true
	} else if r.err != nil {
		return nil, r.err
	}
	for i, c := range r.classes {
		if c == clsStorage {
			k := record.Text
			if r.pending && r.row[i].Kind != record.Null {
				k = r.row[i].Kind
			}
			r.schema.Columns[i].Kind = k
		}
	}
	return r, nil
}

// probe returns the column names and declared types of the query without
// running it.
func (s *Source) probe(ctx context.Context, q string) (names, decls []string, err error) {
	rows, err := s.db.QueryContext(ctx, "SELECT * FROM (\n"+q+"\n) LIMIT 0")
	if err != nil {
		// Report the error of the query as written when it has one (the
		// wrapper shifts SQLite's "near ..." context).
		st, perr := s.db.PrepareContext(ctx, q)
		var se sqlite3.Error
		if errors.As(perr, &se) && se.Code == sqlite3.ErrAuth {
			// A writing statement on its own: say what the query must be.
			perr, st = nil, nil
		}
		if perr != nil {
			return nil, nil, s.queryError(ctx, perr)
		}
		if st != nil {
			_ = st.Close()
		}
		return nil, nil, fmt.Errorf("%w (the query must be one SELECT statement: it is read as a subquery)", s.queryError(ctx, err))
	}
	defer rows.Close()
	names, err = rows.Columns()
	if err != nil {
		return nil, nil, s.queryError(ctx, err)
	}
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, nil, s.queryError(ctx, err)
	}
	decls = make([]string, len(types))
	for i, t := range types {
		decls[i] = t.DatabaseTypeName()
	}
	return names, decls, nil
}

// convertedByDriver reports declared types whose values go-sqlite3 would
// convert (to time.Time or bool) instead of returning them as stored.
func convertedByDriver(decl string) bool {
	switch strings.ToLower(decl) {
	case "date", "datetime", "timestamp", "boolean":
		return true
	}
	return false
}

// buildSQL returns the statement to run and its arguments.
func (r *Rows) buildSQL(q string, names, decls []string, unwrap bool, f *source.Filter) (string, []any, error) {
	if f != nil && f.Column == "" && f.Min.Kind != record.Null {
		return "", nil, fmt.Errorf("sqlite source: %w: incremental filter without a cursor column", source.ErrQuery)
	}
	order := orderClause(names, r.classes, f)
	r.ordered = order != ""
	if !unwrap && order == "" && (f == nil || f.Column == "") {
		return q, nil, nil
	}
	sel := "*"
	if unwrap {
		seen := map[string]bool{}
		var b strings.Builder
		for i, name := range names {
			if seen[strings.ToLower(name)] {
				return "", nil, fmt.Errorf("sqlite source: %w: column name %q appears twice in the query result; give each column a unique name (AS …)", source.ErrQuery, name)
			}
			seen[strings.ToLower(name)] = true
			if i > 0 {
				b.WriteString(", ")
			}
			id := sqltext.QuoteIdent(name)
			if convertedByDriver(decls[i]) {
				b.WriteString("+" + id + " AS " + id)
			} else {
				b.WriteString(id)
			}
		}
		sel = b.String()
	}
	stmt := "SELECT " + sel + " FROM (\n" + q + "\n) AS countysync_src"
	if f == nil || f.Column == "" {
		return stmt + order, nil, nil
	}
	idx, err := r.schema.MustIndex(f.Column)
	if err != nil {
		return "", nil, fmt.Errorf("sqlite source: %w: incremental cursor: %w", source.ErrQuery, err)
	}
	r.cursor = idx
	r.cursorName = f.Column
	nulls := f.Nulls
	if nulls == "" {
		nulls = source.NullInclude
	}
	switch nulls {
	case source.NullInclude, source.NullSkip:
	case source.NullError:
		r.nullErr = true
	default:
		return "", nil, fmt.Errorf("sqlite source: %w: unknown NULL cursor policy %q (want include, skip or error)", source.ErrQuery, nulls)
	}
	col := sqltext.QuoteIdent(f.Column)
	var args []any
	var cond string
	if f.Min.Kind != record.Null {
		arg, err := r.bindMin(f.Min)
		if err != nil {
			return "", nil, fmt.Errorf("sqlite source: %w: incremental cursor %q: %w", source.ErrQuery, f.Column, err)
		}
		args = append(args, arg)
		cond = col + " >= ?"
		if nulls != source.NullSkip {
			cond = "(" + cond + " OR " + col + " IS NULL)"
		}
	} else if nulls == source.NullSkip {
		cond = col + " IS NOT NULL"
	}
	if cond != "" {
		stmt += " WHERE " + cond
	}
	return stmt + order, args, nil
}

// orderClause returns the ORDER BY clause that sorts the result by the
// filter's key columns in source.KeyOrder and marks the rows ordered, or
// "" when a key column is missing, named twice, or not declared INTEGER
// or TEXT (the kinds of other columns' values depend on each value's
// storage class, which SQLite sorts in an order of its own). SQLite sorts
// integers numerically and text under BINARY, byte by byte, as the
// snapshot does; COLLATE BINARY overrides a column's declared collation.
// A value whose storage class does not fit its column (a real in an
// INTEGER column) sorts where SQLite puts it, which the caller's order
// check reports.
func orderClause(names []string, classes []class, f *source.Filter) string {
	if f == nil || len(f.OrderBy) == 0 {
		return ""
	}
	parts := make([]string, 0, len(f.OrderBy))
	for _, k := range f.OrderBy {
		at := -1
		for i, n := range names {
			if strings.EqualFold(n, k) {
				if at >= 0 {
					return ""
				}
				at = i
			}
		}
		if at < 0 || names[at] != k || (classes[at] != clsInt && classes[at] != clsText) {
			return ""
		}
		parts = append(parts, sqltext.QuoteIdent(k)+" COLLATE BINARY")
	}
	return " ORDER BY " + strings.Join(parts, ", ")
}

// bindMin returns the cursor value in SQLite's storage form. For
// timestamps it returns the UTC day before Min (a text lower bound that
// holds in any ISO 8601 layout) and arms the exact check in Go, at µs.
func (r *Rows) bindMin(v record.Value) (any, error) {
	switch v.Kind {
	case record.Int:
		return v.I, nil
	case record.Float:
		return v.F, nil
	case record.Bool:
		return v.I, nil
	case record.Numeric:
		if i, err := strconv.ParseInt(v.S, 10, 64); err == nil {
			return i, nil
		}
		if f, err := strconv.ParseFloat(v.S, 64); err == nil {
			return f, nil
		}
		return v.S, nil
	case record.Text, record.UUID:
		return v.S, nil
	case record.Date:
		if v.S != "" {
			return v.S, nil
		}
		return v.T.Format(record.DateLayout), nil
	case record.Timestamp, record.TimestampTZ:
		if v.S != "" {
			return v.S, nil
		}
		// Truncated to µs, as PostgreSQL binds it: a Min between two
		// microseconds counts as the earlier one.
		min := v.T.UTC().Truncate(time.Microsecond)
		r.minTime = &min
		return min.AddDate(0, 0, -1).Format(record.DateLayout), nil
	}
	return nil, fmt.Errorf("a %s value cannot be an incremental cursor", v.Kind)
}
