package postgres

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/countydatasync/countysync/internal/record"
	"github.com/countydatasync/countysync/internal/source"
	"github.com/countydatasync/countysync/internal/sqltext"
)

// wrapPrefix starts the statement that wraps a filtered query. It is ASCII,
// so its length in bytes is its length in characters (error positions).
const wrapPrefix = "SELECT * FROM (\n"

// Query runs query in a read-only REPEATABLE READ transaction and streams
// its rows. With a filter the query is wrapped (see the package
// documentation). Errors PostgreSQL raises for the query (also ones raised
// while producing the first row) wrap source.ErrQuery.
func (s *Source) Query(ctx context.Context, query string, filter *source.Filter) (source.Rows, error) {
	stmt, param, err := buildSQL(query, filter)
	if err != nil {
		return nil, err
	}
	qctx, cancel := context.WithCancel(ctx)
	conn, tx, horizon, err := s.begin(qctx, filter != nil && filter.Horizon)
	if err != nil {
		cancel()
		return nil, err
	}
	r, err := s.start(qctx, conn, stmt, param, filter)
	if err != nil {
		if conn.PgConn().TxStatus() != 'I' {
			rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = tx.Rollback(rctx)
			rcancel()
		}
		cancel()
		s.release(conn)
		return nil, err
	}
	r.tx, r.cancel, r.started, r.horizon = tx, cancel, time.Now(), horizon
	return r, nil
}

// start describes the statement, resolves its column types and executes
// it, reading ahead to the first row so that errors raised while producing
// it are returned here.
func (s *Source) start(ctx context.Context, conn *pgx.Conn, stmt *sqlInfo, param *record.Value, filter *source.Filter) (*Rows, error) {
	sd, err := conn.PgConn().Prepare(ctx, "", stmt.sent, nil)
	if err != nil {
		return nil, s.classify(ctx, "describe query", err, stmt)
	}
	oids := make([]uint32, len(sd.Fields))
	for i, f := range sd.Fields {
		oids[i] = f.DataTypeOID
	}
	types, err := s.types.resolve(ctx, conn, oids)
	if err != nil {
		return nil, s.classify(ctx, "look up column types", err, nil)
	}
	r := &Rows{
		src:     s,
		conn:    conn,
		ctx:     ctx,
		schema:  &record.Schema{Columns: make([]record.Column, len(sd.Fields))},
		types:   types,
		row:     make(record.Row, len(sd.Fields)),
		nullErr: -1,
	}
	formats := make([]int16, len(sd.Fields))
	for i, f := range sd.Fields {
		t := types[i]
		r.schema.Columns[i] = record.Column{Name: f.Name, Kind: t.kind(), SourceType: sourceType(t.name, f.TypeModifier)}
		formats[i] = t.format()
	}
	if filter != nil && filter.Column != "" {
		idx, err := r.schema.MustIndex(filter.Column)
		if err != nil {
			return nil, fmt.Errorf("postgres source: %w: incremental cursor: %w", source.ErrQuery, err)
		}
		r.cursor = filter.Column
		if filter.Nulls == source.NullError {
			r.nullErr = idx
		}
	}
	var values [][]byte
	var paramFormats []int16
	if param != nil {
		if len(sd.ParamOIDs) != 1 {
			return nil, fmt.Errorf("postgres source: %w: the query must not have parameters of its own ($1 …); found %d", source.ErrQuery, len(sd.ParamOIDs))
		}
		v, format, err := encodeParam(conn.TypeMap(), sd.ParamOIDs[0], param)
		if err != nil {
			return nil, fmt.Errorf("postgres source: %w: incremental cursor %q: %w", source.ErrQuery, filter.Column, err)
		}
		values, paramFormats = [][]byte{v}, []int16{format}
	} else if len(sd.ParamOIDs) != 0 {
		return nil, fmt.Errorf("postgres source: %w: the query must not have parameters ($1 …); found %d", source.ErrQuery, len(sd.ParamOIDs))
	}
	if filter != nil {
		if order := orderClause(r.schema, types, filter.OrderBy); order != "" {
			stmt = stmt.ordered(order)
			r.ordered = true
		}
	}
	r.rr = conn.PgConn().ExecParams(ctx, stmt.sent, values, sd.ParamOIDs, paramFormats, formats)
	r.stmt = stmt
	if r.rr.NextRow() {
		r.pending = true
		return r, nil
	}
	if _, err := r.rr.Close(); err != nil {
		return nil, s.classify(ctx, "run query", err, stmt)
	}
	r.exhausted = true
	return r, nil
}

// buildSQL returns the statement to send and the cursor parameter, if any.
func buildSQL(query string, f *source.Filter) (*sqlInfo, *record.Value, error) {
	q := sqltext.TrimStatement(query)
	if q == "" {
		return nil, nil, fmt.Errorf("postgres source: %w: the query is empty", source.ErrQuery)
	}
	if f != nil && f.Column == "" && f.Min.Kind != record.Null {
		return nil, nil, fmt.Errorf("postgres source: %w: incremental filter without a cursor column", source.ErrQuery)
	}
	if f == nil || f.Column == "" {
		return &sqlInfo{sent: q, user: q}, nil, nil
	}
	if err := sqltext.CheckIdent(f.Column); err != nil {
		return nil, nil, fmt.Errorf("postgres source: invalid column name %q: %w", f.Column, err)
	}
	col := sqltext.QuoteIdent(f.Column)
	nulls := f.Nulls
	if nulls == "" {
		nulls = source.NullInclude
	}
	if nulls != source.NullInclude && nulls != source.NullSkip && nulls != source.NullError {
		return nil, nil, fmt.Errorf("postgres source: %w: unknown NULL cursor policy %q (want include, skip or error)", source.ErrQuery, nulls)
	}
	var cond string
	var param *record.Value
	if f.Min.Kind != record.Null {
		cast, err := castFor(f.Min.Kind)
		if err != nil {
			return nil, nil, fmt.Errorf("postgres source: %w: incremental cursor %q: %w", source.ErrQuery, f.Column, err)
		}
		cond = col + " >= $1::" + cast
		if nulls != source.NullSkip {
			cond = "(" + cond + " OR " + col + " IS NULL)"
		}
		min := f.Min
		param = &min
	} else if nulls == source.NullSkip {
		cond = col + " IS NOT NULL"
	}
	sent := wrapPrefix + q + "\n) AS countysync_src"
	if cond != "" {
		sent += " WHERE " + cond
	}
	return &sqlInfo{sent: sent, user: q, offset: utf8.RuneCountInString(wrapPrefix)}, param, nil
}

// ordered returns the statement sorted by order (an ORDER BY clause),
// wrapping the user's query when it is not wrapped yet.
func (q *sqlInfo) ordered(order string) *sqlInfo {
	if q.offset == 0 {
		return &sqlInfo{sent: wrapPrefix + q.user + "\n) AS countysync_src" + order, user: q.user, offset: utf8.RuneCountInString(wrapPrefix)}
	}
	return &sqlInfo{sent: q.sent + order, user: q.user, offset: q.offset}
}

// castFor is the SQL type the cursor parameter is cast to, by kind.
func castFor(k record.Kind) (string, error) {
	switch k {
	case record.Int:
		return "int8", nil
	case record.Float:
		return "float8", nil
	case record.Numeric:
		return "numeric", nil
	case record.Bool:
		return "bool", nil
	case record.Text:
		return "text", nil
	case record.UUID:
		return "uuid", nil
	case record.Date:
		return "date", nil
	case record.Timestamp:
		return "timestamp", nil
	case record.TimestampTZ:
		return "timestamptz", nil
	}
	return "", fmt.Errorf("a %s value cannot be an incremental cursor", k)
}

// encodeParam encodes the cursor value for the parameter type oid: Go
// typed values through pgx's type map (binary), strings and infinities in
// text format.
func encodeParam(m *pgtype.Map, oid uint32, v *record.Value) ([]byte, int16, error) {
	text := func(s string) ([]byte, int16, error) { return []byte(s), pgtype.TextFormatCode, nil }
	var arg any
	switch v.Kind {
	case record.Int:
		arg = v.I
	case record.Float:
		arg = v.F
	case record.Bool:
		arg = v.I != 0
	case record.Numeric, record.Text, record.UUID:
		return text(v.S)
	case record.Date:
		if v.S != "" {
			return text(v.S)
		}
		arg = pgtype.Date{Time: v.T, Valid: true}
	case record.Timestamp:
		if v.S != "" {
			return text(v.S)
		}
		arg = v.T.UTC()
	case record.TimestampTZ:
		if v.S != "" {
			return text(v.S)
		}
		arg = v.T
	default:
		return nil, 0, fmt.Errorf("a %s value cannot be an incremental cursor", v.Kind)
	}
	b, err := m.Encode(oid, pgtype.BinaryFormatCode, arg, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("encode %s cursor value: %w", v.Kind, err)
	}
	return b, pgtype.BinaryFormatCode, nil
}

// Rows streams the result of one Query. The row returned by Row and the
// byte slices in it (bytea, geometry) are valid until the next call to
// Next or Close.
type Rows struct {
	src    *Source
	conn   *pgx.Conn
	tx     pgx.Tx
	ctx    context.Context
	cancel context.CancelFunc
	rr     *pgconn.ResultReader
	stmt   *sqlInfo

	schema *record.Schema
	types  []*pgType
	row    record.Row
	buf    []byte

	cursor  string
	nullErr int // index of the cursor column under NullError, or -1
	ordered bool
	horizon *source.Horizon

	pending   bool // rr holds a row not yet returned
	exhausted bool // rr is closed; no more rows
	done      bool // resources released
	err       error
	n         int64
	started   time.Time
}

var _ source.Rows = (*Rows)(nil)

// Schema describes the result columns.
func (r *Rows) Schema() *record.Schema { return r.schema }

// Row returns the current row.
func (r *Rows) Row() record.Row { return r.row }

// Ordered reports whether the rows come in the key order asked for.
func (r *Rows) Ordered() bool { return r.ordered }

// Horizon returns the transactions open before the query's snapshot, when
// the filter asked for them.
func (r *Rows) Horizon() *source.Horizon { return r.horizon }

// Err returns the error that ended iteration, if any.
func (r *Rows) Err() error { return r.err }

// Next advances to the next row.
func (r *Rows) Next() bool {
	if r.done {
		return false
	}
	if r.pending {
		r.pending = false
	} else if r.exhausted || !r.rr.NextRow() {
		r.finish()
		return false
	}
	if err := r.decode(r.rr.Values()); err != nil {
		r.fail(err)
		return false
	}
	if r.nullErr >= 0 && r.row[r.nullErr].Kind == record.Null {
		r.fail(fmt.Errorf("postgres source: %w: incremental cursor column %q is NULL in row %d and null_cursor is %q",
			source.ErrQuery, r.cursor, r.n+1, source.NullError))
		return false
	}
	r.n++
	return true
}

// decode fills r.row from the raw values of the current row.
func (r *Rows) decode(vals [][]byte) error {
	if len(vals) != len(r.row) {
		return fmt.Errorf("postgres source: row has %d values, expected %d", len(vals), len(r.row))
	}
	for i, raw := range vals {
		v := &r.row[i]
		if raw == nil {
			*v = record.Value{}
			continue
		}
		t := r.types[i]
		var err error
		switch t.dec {
		case decArray:
			r.buf, err = appendArrayJSON(r.buf[:0], raw, t.elem)
			*v = record.Value{Kind: record.Array, S: string(r.buf)}
		case decArrayText:
			r.buf, err = appendTextArrayJSON(r.buf[:0], raw, t.delim)
			*v = record.Value{Kind: record.Array, S: string(r.buf)}
		default:
			err = decodeScalar(t.dec, raw, v)
		}
		if err != nil {
			return fmt.Errorf("postgres source: row %d, column %q (%s): %w", r.n+1, r.schema.Columns[i].Name, t.name, err)
		}
	}
	return nil
}

// finish ends a fully read result: it collects the statement's error,
// commits the transaction and returns the connection.
func (r *Rows) finish() {
	if !r.exhausted {
		r.exhausted = true
		if _, err := r.rr.Close(); err != nil {
			r.err = r.src.classify(r.ctx, "read rows", err, r.stmt)
		}
	}
	if r.err == nil {
		if err := r.tx.Commit(r.ctx); err != nil {
			r.err = r.src.classify(r.ctx, "commit", err, nil)
		}
	} else if !r.conn.IsClosed() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = r.tx.Rollback(ctx)
		cancel()
	}
	r.release()
	r.src.log.Debug("postgres query done", "rows", r.n, "duration", time.Since(r.started), "error", r.err)
}

// fail ends iteration with err, abandoning the rest of the result.
func (r *Rows) fail(err error) {
	r.err = err
	r.abort()
}

// abort stops reading: if rows remain, canceling the query's context
// closes the connection rather than draining the result.
func (r *Rows) abort() {
	if !r.exhausted {
		r.exhausted = true
		r.cancel()
		_, _ = r.rr.Close()
	}
	if !r.conn.IsClosed() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = r.tx.Rollback(ctx)
		cancel()
	}
	r.release()
}

func (r *Rows) release() {
	if r.done {
		return
	}
	r.done = true
	r.cancel()
	r.src.release(r.conn)
	r.conn, r.rr, r.tx = nil, nil, nil
}

// Close ends the query early and releases its connection. It is safe to
// call more than once and after Next returned false.
func (r *Rows) Close() {
	if r.done {
		return
	}
	r.abort()
}

// sourceType names a column's type as PostgreSQL declares it, with the
// precision and scale of numeric columns ("numeric(30,10)"), which tells
// writers whether a value fits a float.
func sourceType(name string, typmod int32) string {
	if name == "numeric" && typmod >= 4 {
		m := typmod - 4
		return fmt.Sprintf("numeric(%d,%d)", m>>16, m&0xffff)
	}
	return name
}
