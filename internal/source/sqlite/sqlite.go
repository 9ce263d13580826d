package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mattn/go-sqlite3"

	"github.com/countydatasync/countysync/internal/record"
	"github.com/countydatasync/countysync/internal/source"
	"github.com/countydatasync/countysync/internal/sqltext"
)

// Source is an open SQLite database file, read-only. It is safe for
// concurrent use.
type Source struct {
	db   *sql.DB
	path string
	log  *slog.Logger
}

var _ source.Source = (*Source)(nil)

// Open opens the SQLite database at path read-only. A missing file, a
// directory, or a file that is not a SQLite database is an error wrapping
// source.ErrUnreachable that names the path; the file is never created. A
// nil log discards log output.
func Open(ctx context.Context, path string, log *slog.Logger) (*Source, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite source: open %s: %w: %w", path, source.ErrUnreachable, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("sqlite source: open %s: %w: is a directory", path, source.ErrUnreachable)
	}
	db, err := sql.Open("sqlite3", "file:"+escapePath(path)+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		return nil, fmt.Errorf("sqlite source: open %s: %w: %w", path, source.ErrUnreachable, err)
	}
	var n int64
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
		_ = db.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("sqlite source: open %s: %w", path, ctx.Err())
		}
		return nil, fmt.Errorf("sqlite source: open %s: %w: %w", path, source.ErrUnreachable, err)
	}
	log.Debug("sqlite source opened", "path", path, "schema_objects", n)
	return &Source{db: db, path: path, log: log}, nil
}

// escapePath makes a file path safe inside a "file:" URI.
func escapePath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
}

// Close closes the database.
func (s *Source) Close() error { return s.db.Close() }

// String returns the database path.
func (s *Source) String() string { return s.path }

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
		if perr != nil {
			return nil, nil, s.queryError(ctx, perr)
		}
		_ = st.Close()
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
	if !unwrap && f == nil {
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
	if f == nil {
		return stmt, nil, nil
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
		return "", nil, fmt.Errorf("sqlite source: unknown NULL cursor policy %q (want include, skip or error)", nulls)
	}
	col := sqltext.QuoteIdent(f.Column)
	var args []any
	var cond string
	if f.Min.Kind != record.Null {
		arg, err := r.bindMin(f.Min)
		if err != nil {
			return "", nil, fmt.Errorf("sqlite source: incremental cursor %q: %w", f.Column, err)
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
	return stmt, args, nil
}

// bindMin returns the cursor value in SQLite's storage form. For
// timestamps it returns the UTC day before Min (a text lower bound that
// holds in any ISO 8601 layout) and arms the exact check in Go.
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
		min := v.T.UTC()
		r.minTime = &min
		return min.AddDate(0, 0, -1).Format(record.DateLayout), nil
	}
	return nil, fmt.Errorf("a %s value cannot be an incremental cursor", v.Kind)
}

// queryError wraps a database error: busy, locked, I/O and similar errors
// wrap source.ErrUnreachable, everything else source.ErrQuery.
func (s *Source) queryError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("sqlite source %s: %w", s.path, ctx.Err())
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrBusy, sqlite3.ErrLocked, sqlite3.ErrIoErr, sqlite3.ErrCantOpen,
			sqlite3.ErrCorrupt, sqlite3.ErrNotADB, sqlite3.ErrNomem, sqlite3.ErrProtocol:
			return fmt.Errorf("sqlite source %s: %w: %w", s.path, source.ErrUnreachable, err)
		}
	}
	return fmt.Errorf("sqlite source %s: %w: %w", s.path, source.ErrQuery, err)
}

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

// Err returns the error that ended iteration, if any.
func (r *Rows) Err() error { return r.err }

// InvalidUTF8 returns, per column name, how many text values held invalid
// UTF-8 (replaced with U+FFFD) so far. Columns without any are left out.
func (r *Rows) InvalidUTF8() map[string]int64 {
	out := map[string]int64{}
	for i, n := range r.invalid {
		if n > 0 {
			out[r.schema.Columns[i].Name] += n
		}
	}
	return out
}

// Warnings describes data problems seen so far, for the run report.
func (r *Rows) Warnings() []string {
	var out []string
	for i, n := range r.invalid {
		if n > 0 {
			out = append(out, fmt.Sprintf("column %q: %d text values with invalid UTF-8 (replaced with U+FFFD)", r.schema.Columns[i].Name, n))
		}
	}
	return out
}

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

// class is how a column's declared type maps values.
type class uint8

const (
	clsStorage class = iota // by storage class
	clsInt
	clsFloat
	clsNumeric
	clsBool
	clsDate
	clsTimestamp
	clsText
	clsJSON
	clsBytes
	clsGeometry
)

var geometryTypes = map[string]bool{
	"GEOMETRY": true, "GEOMETRYCOLLECTION": true, "POINT": true, "LINESTRING": true, "POLYGON": true,
	"MULTIPOINT": true, "MULTILINESTRING": true, "MULTIPOLYGON": true, "CIRCULARSTRING": true,
	"COMPOUNDCURVE": true, "CURVEPOLYGON": true, "MULTICURVE": true, "MULTISURFACE": true,
	"CURVE": true, "SURFACE": true, "TRIANGLE": true, "TIN": true, "POLYHEDRALSURFACE": true,
}

// classify maps a declared column type to its class and schema kind.
func classify(decl string) (class, record.Kind) {
	u := strings.ToUpper(strings.TrimSpace(decl))
	if i := strings.IndexByte(u, '('); i >= 0 {
		u = strings.TrimSpace(u[:i])
	}
	switch {
	case u == "":
		return clsStorage, record.Text
	case strings.HasPrefix(u, "BOOL"):
		return clsBool, record.Bool
	case u == "DATE":
		return clsDate, record.Date
	case strings.HasPrefix(u, "DATETIME"), strings.HasPrefix(u, "TIMESTAMP"):
		if strings.Contains(u, "TZ") || strings.Contains(u, "WITH TIME ZONE") {
			return clsTimestamp, record.TimestampTZ
		}
		return clsTimestamp, record.Timestamp
	case strings.HasPrefix(u, "JSON"):
		return clsJSON, record.JSON
	case geometryTypes[strings.TrimRight(u, " ZM")] || geometryTypes[u]:
		return clsGeometry, record.Geometry
	case strings.HasPrefix(u, "NUMERIC"), strings.HasPrefix(u, "DECIMAL"):
		return clsNumeric, record.Numeric
	case strings.Contains(u, "INT"):
		return clsInt, record.Int
	case strings.Contains(u, "CHAR"), strings.Contains(u, "CLOB"), strings.Contains(u, "TEXT"):
		return clsText, record.Text
	case strings.Contains(u, "BLOB"):
		return clsBytes, record.Bytes
	case strings.Contains(u, "REAL"), strings.Contains(u, "FLOA"), strings.Contains(u, "DOUB"):
		return clsFloat, record.Float
	}
	return clsStorage, record.Text
}

// convert maps one stored value of column i to a record.Value.
func (r *Rows) convert(i int, raw any) record.Value {
	switch x := raw.(type) {
	case nil:
		return record.Value{}
	case int64:
		switch r.classes[i] {
		case clsFloat:
			return record.FloatValue(float64(x))
		case clsNumeric:
			return record.NumericValue(strconv.FormatInt(x, 10))
		case clsBool:
			if x == 0 || x == 1 {
				return record.BoolValue(x == 1)
			}
		case clsJSON:
			return record.Value{Kind: record.JSON, S: strconv.FormatInt(x, 10)}
		}
		return record.IntValue(x)
	case float64:
		switch r.classes[i] {
		case clsNumeric:
			if record.IsFinite(x) {
				return record.NumericValue(formatNumeric(x))
			}
		case clsJSON:
			if record.IsFinite(x) {
				return record.Value{Kind: record.JSON, S: string(record.AppendFloat(nil, x))}
			}
		}
		return record.FloatValue(x)
	case []byte:
		if r.classes[i] == clsGeometry {
			return record.Value{Kind: record.Geometry, B: x}
		}
		return record.BytesValue(x)
	case string:
		if !utf8.ValidString(x) {
			x = strings.ToValidUTF8(x, "\uFFFD")
			r.invalid[i]++
		}
		return convertText(r.classes[i], x)
	case bool: // not expected: BOOLEAN columns are read unconverted
		return record.BoolValue(x)
	case time.Time: // not expected: DATE/DATETIME/TIMESTAMP columns are read unconverted
		return record.TimestampValue(x)
	}
	return record.TextValue(fmt.Sprint(raw))
}

// convertText maps a TEXT value by column class.
func convertText(c class, s string) record.Value {
	switch c {
	case clsNumeric:
		if record.IsJSONNumber(s) {
			return record.NumericValue(s)
		}
	case clsBool:
		switch strings.ToLower(s) {
		case "true", "t", "yes", "y", "1":
			return record.BoolValue(true)
		case "false", "f", "no", "n", "0":
			return record.BoolValue(false)
		}
	case clsDate:
		if len(s) == len(record.DateLayout) {
			if t, err := time.Parse(record.DateLayout, s); err == nil {
				return record.DateValue(t)
			}
		}
	case clsTimestamp:
		if t, hasZone, err := record.ParseTimestamp(s); err == nil {
			if hasZone {
				return record.TimestampTZValue(t)
			}
			return record.TimestampValue(t)
		}
		if len(s) == len(record.DateLayout) {
			if t, err := time.Parse(record.DateLayout, s); err == nil {
				return record.TimestampValue(t)
			}
		}
	case clsJSON:
		if jsonValid(s) {
			return record.Value{Kind: record.JSON, S: s}
		}
	case clsGeometry:
		return record.Value{Kind: record.Geometry, S: s}
	}
	return record.TextValue(s)
}

// formatNumeric renders a real stored in a NUMERIC column: the shortest
// decimal that round-trips, in plain notation unless the exponent is
// extreme.
func formatNumeric(f float64) string {
	if a := abs(f); a == 0 || (a >= 1e-7 && a < 1e21) {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// jsonValid reports whether s is one valid JSON text.
func jsonValid(s string) bool { return json.Valid([]byte(s)) }
