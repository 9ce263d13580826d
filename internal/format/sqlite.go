package format

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/mattn/go-sqlite3"

	"github.com/countydatasync/countysync/internal/record"
	"github.com/countydatasync/countysync/internal/safefs"
	"github.com/countydatasync/countysync/internal/sqltext"
)

// sqliteBatchRows is the number of rows of one multi-row INSERT. Bound
// parameters are capped at sqliteMaxParams per statement.
var sqliteBatchRows = 64

// sqliteMaxParams stays below SQLITE_MAX_VARIABLE_NUMBER (32766).
const sqliteMaxParams = 32000

// sqliteWriter loads the rows into one table of a new SQLite file: the
// sqlite format's "<dataset>_data" table (newSQLite) or a GeoPackage
// feature table (newGPKG); a sqliteTable says which. Declared types of the
// sqlite format (docs/ARCHITECTURE.md, Values per format):
//
//	Int INTEGER, Float REAL, Numeric NUMERIC (TEXT when its declared
//	precision exceeds 15 digits), Bool BOOLEAN (0/1), Date DATE,
//	Timestamp/TimestampTZ DATETIME (ISO text), Text/UUID/JSON/Array TEXT,
//	Bytes BLOB, Geometry TEXT (WKT).
//
// The key columns are the PRIMARY KEY (NOT NULL; a single integer key
// aliases the rowid). The file is written with journal_mode=MEMORY and
// synchronous=OFF in one transaction through one prepared multi-row INSERT;
// go-sqlite3 is used at the driver level so no database/sql conversion
// happens per value.
type sqliteWriter struct {
	dataset string
	format  string // "sqlite" or "gpkg", in error messages
	path    string
	table   string // quoted
	cols    []record.Column
	bind    []sqliteBind // per column
	keyIdx  []int
	spec    sqliteTable

	conn   *sqlite3.SQLiteConn
	multi  driver.StmtExecContext // batch rows per execution
	single driver.StmtExecContext // one row per execution
	batch  int

	args  []driver.NamedValue // batch*len(cols) arguments
	one   []driver.NamedValue // arguments of a single-row INSERT
	n     int                 // rows pending in args
	arena []byte              // text and bytes of pending rows
	rows  int64               // rows written
	err   error               // sticky
}

// sqliteTable is the table a sqliteWriter loads: the parts in which the
// files of the sqlite and gpkg formats differ.
type sqliteTable struct {
	format string   // format name, in error messages
	name   string   // table name, unquoted
	extra  int      // columns of the table besides the schema's (gpkg's fid)
	decls  []string // declared type of each column of the schema
	// setup runs after the connection PRAGMAs, before the load: it creates
	// the table (with columnDefs) and whatever else the file holds.
	setup []sqlStmt
	// geom appends the bytes a decoded geometry (v.G != nil) of the
	// geometry column is bound as, a BLOB; nil binds the column's
	// geometries as WKT text, like every other geometry value. row is the
	// 1-based number of the row in the table (gpkg's fid).
	geom func(dst []byte, v *record.Value, row int64) ([]byte, error)
	// flushed returns the statements run after each batch of rows is
	// inserted (gpkg's R-tree entries); nil runs none.
	flushed func() []sqlStmt
	// appendTime appends the text a date, timestamp or timestamptz value
	// is bound as, or reports false to bind NULL; nil is
	// record.AppendText.
	appendTime func(dst []byte, v *record.Value) ([]byte, bool)
	// finish returns the statements run after the last row, before the
	// commit; nil runs none.
	finish func() []sqlStmt
}

// sqliteMaxColumns is SQLite's default limit on the columns of a table
// (SQLITE_MAX_COLUMN), which go-sqlite3 keeps.
const sqliteMaxColumns = 2000

// checkSQLiteColumns refuses, naming the columns, what SQLite would refuse
// when it creates the table: more columns than it allows, and two names
// that differ only in ASCII case (SQLite compares identifiers that way).
func checkSQLiteColumns(dataset string, t sqliteTable, cols []record.Column) error {
	if n := len(cols) + t.extra; n > sqliteMaxColumns {
		extra := ""
		if t.extra > 0 {
			extra = fmt.Sprintf(" (%d from the query, %d added by %s)", len(cols), t.extra, t.format)
		}
		return fmt.Errorf("dataset %s: %s: the table would have %d columns%s; SQLite allows at most %d: select fewer columns, or leave %s out of formats",
			dataset, t.format, n, extra, sqliteMaxColumns, t.format)
	}
	seen := make(map[string]string, len(cols))
	for _, c := range cols {
		folded := asciiLower(c.Name)
		if first, ok := seen[folded]; ok {
			return fmt.Errorf("dataset %s: %s: columns %q and %q differ only in case, and SQLite column names ignore case: give one an alias (AS …) in the query",
				dataset, t.format, first, c.Name)
		}
		seen[folded] = c.Name
	}
	return nil
}

// asciiLower folds ASCII letters to lower case, as SQLite does when it
// compares identifiers (other letters are left as they are).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// sqlStmt is one statement with its arguments.
type sqlStmt struct {
	query string
	args  []driver.Value
}

// sqliteBind says how a column's values are bound when it is not by their
// kind alone.
type sqliteBind uint8

const (
	bindByKind   sqliteBind = iota // by the value's kind (docs/ARCHITECTURE.md, Values per format)
	bindDigits                     // numeric declared TEXT: the exact digits
	bindReal                       // numeric declared REAL: realBind
	bindGeom                       // the geometry column: sqliteTable.geom
	bindTimeText                   // a zone-less timestamp column declared TEXT (gpkg): every value's text
)

var emptyBlob = []byte{}

// newSQLite creates the sqlite format's file: table "<dataset>_data".
func newSQLite(path string, opts Options, keyIdx []int) (*sqliteWriter, error) {
	cols := opts.Schema.Columns
	t := sqliteTable{format: "sqlite", name: opts.Dataset + "_data", decls: make([]string, len(cols))}
	for i, c := range cols {
		t.decls[i] = sqliteType(c)
	}
	var create strings.Builder
	create.WriteString("CREATE TABLE ")
	create.WriteString(sqltext.QuoteIdent(t.name))
	create.WriteString(" (")
	columnDefs(&create, cols, t.decls, keyIdx)
	if len(keyIdx) > 0 {
		create.WriteString(", PRIMARY KEY (" + keyList(cols, keyIdx) + ")")
	}
	create.WriteString(")")
	t.setup = []sqlStmt{{query: create.String()}}
	return openSQLite(path, opts, keyIdx, -1, t)
}

// columnDefs writes the column definitions of a CREATE TABLE, separated
// by ", ": quoted name, declared type, NOT NULL for the key columns.
func columnDefs(b *strings.Builder, cols []record.Column, decls []string, keyIdx []int) {
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(sqltext.QuoteIdent(c.Name))
		b.WriteByte(' ')
		b.WriteString(decls[i])
		if slices.Contains(keyIdx, i) {
			b.WriteString(" NOT NULL")
		}
	}
}

// keyList is the quoted key column names, separated by ", ".
func keyList(cols []record.Column, keyIdx []int) string {
	names := make([]string, len(keyIdx))
	for n, i := range keyIdx {
		names[n] = sqltext.QuoteIdent(cols[i].Name)
	}
	return strings.Join(names, ", ")
}

// openSQLite creates the file at path and prepares the load of table t:
// the rows of opts.Schema, the column geomIdx (-1 for none) bound by t.geom.
func openSQLite(path string, opts Options, keyIdx []int, geomIdx int, t sqliteTable) (w *sqliteWriter, err error) {
	cols := opts.Schema.Columns
	if len(cols) == 0 {
		return nil, fmt.Errorf("dataset %s: %s: no columns", opts.Dataset, t.format)
	}
	for _, c := range cols {
		if strings.IndexByte(c.Name, 0) >= 0 {
			return nil, fmt.Errorf("dataset %s: %s: column name %q contains a NUL byte", opts.Dataset, t.format, c.Name)
		}
	}
	if err := checkSQLiteColumns(opts.Dataset, t, cols); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %s: %w", opts.Dataset, t.format, err)
	}
	// The caller hands us a fresh temporary name; a leftover file from an
	// earlier attempt would already hold the table.
	// The file is created here, exclusively and never through a link,
	// before SQLite opens it by name.
	if err := safefs.Touch(abs); err != nil {
		return nil, fmt.Errorf("dataset %s: %s: %w", opts.Dataset, t.format, err)
	}
	// A file: URI so that '?' or '#' in the path are not taken as options.
	dsn := "file:" + (&url.URL{Path: abs}).EscapedPath()
	dc, err := (&sqlite3.SQLiteDriver{}).Open(dsn)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %s: open %s: %w", opts.Dataset, t.format, path, err)
	}
	conn := dc.(*sqlite3.SQLiteConn)
	defer func() {
		if err != nil {
			conn.Close()
		}
	}()
	w = &sqliteWriter{
		dataset: opts.Dataset,
		format:  t.format,
		path:    path,
		table:   sqltext.QuoteIdent(t.name),
		cols:    cols,
		bind:    make([]sqliteBind, len(cols)),
		keyIdx:  keyIdx,
		spec:    t,
		conn:    conn,
	}
	if w.spec.appendTime == nil {
		w.spec.appendTime = appendTimeText
	}
	for i, c := range cols {
		switch {
		case i == geomIdx && t.geom != nil:
			w.bind[i] = bindGeom
		case c.Kind == record.Numeric && t.decls[i] == "TEXT":
			w.bind[i] = bindDigits
		case c.Kind == record.Numeric && t.decls[i] == "REAL":
			w.bind[i] = bindReal
		case c.Kind == record.Timestamp && t.decls[i] == "TEXT":
			w.bind[i] = bindTimeText
		}
	}
	w.batch = min(sqliteBatchRows, max(1, sqliteMaxParams/len(cols)))

	if err := w.exec([]sqlStmt{
		{query: "PRAGMA journal_mode=MEMORY"},
		{query: "PRAGMA synchronous=OFF"},
		{query: "PRAGMA temp_store=MEMORY"},
		{query: "PRAGMA cache_size=-8192"}, // 8 MiB: more only raised RSS, not speed
	}); err != nil {
		return nil, err
	}
	if err := w.exec(t.setup); err != nil {
		return nil, err
	}
	if err := w.exec([]sqlStmt{{query: "BEGIN"}}); err != nil {
		return nil, err
	}
	if w.multi, err = w.prepare(w.batch); err != nil {
		return nil, err
	}
	if w.single, err = w.prepare(1); err != nil {
		return nil, err
	}
	w.args = make([]driver.NamedValue, w.batch*len(cols))
	for i := range w.args {
		w.args[i].Ordinal = i + 1
	}
	return w, nil
}

// exec runs statements in order, stopping at the first error.
func (w *sqliteWriter) exec(stmts []sqlStmt) error {
	for _, st := range stmts {
		if _, err := w.conn.Exec(st.query, st.args); err != nil {
			return fmt.Errorf("dataset %s: %s: %s: %w", w.dataset, w.format, stmtName(st.query), err)
		}
	}
	return nil
}

// stmtName names a statement in error messages: its text up to the first
// parenthesis or SET ("CREATE TABLE gpkg_contents", "UPDATE gpkg_contents"),
// or all of it ("PRAGMA synchronous=OFF").
func stmtName(q string) string {
	if i := strings.IndexByte(q, '('); i > 0 {
		q = q[:i]
	}
	if i := strings.Index(q, " SET "); i > 0 {
		q = q[:i]
	}
	return strings.TrimSpace(q)
}

// prepare prepares an INSERT of n rows.
func (w *sqliteWriter) prepare(n int) (driver.StmtExecContext, error) {
	var q strings.Builder
	q.WriteString("INSERT INTO ")
	q.WriteString(w.table)
	q.WriteString(" (")
	for c, col := range w.cols {
		if c > 0 {
			q.WriteString(", ")
		}
		q.WriteString(sqltext.QuoteIdent(col.Name))
	}
	q.WriteString(") VALUES ")
	for r := 0; r < n; r++ {
		if r > 0 {
			q.WriteByte(',')
		}
		q.WriteByte('(')
		for c := range w.cols {
			if c > 0 {
				q.WriteByte(',')
			}
			q.WriteByte('?')
		}
		q.WriteByte(')')
	}
	st, err := w.conn.Prepare(q.String())
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %s: prepare insert: %w", w.dataset, w.format, err)
	}
	return st.(driver.StmtExecContext), nil
}

// sqliteType is the declared SQLite type of a column.
func sqliteType(c record.Column) string {
	switch c.Kind {
	case record.Int:
		return "INTEGER"
	case record.Float:
		return "REAL"
	case record.Numeric:
		// NUMERIC affinity turns any numeric-looking text into INTEGER or
		// REAL, even when REAL cannot hold its digits (SQLite keeps 15
		// significant digits). Only a column declared with at most 15
		// digits of precision (numeric(12,2)) is NUMERIC; wider or
		// unbounded numeric columns are TEXT, which keeps every value
		// exact.
		if p := numericPrecision(c.SourceType); p < 1 || p > 15 {
			return "TEXT"
		}
		return "NUMERIC"
	case record.Bool:
		return "BOOLEAN"
	case record.Date:
		return "DATE"
	case record.Timestamp, record.TimestampTZ:
		return "DATETIME"
	case record.Bytes:
		return "BLOB"
	}
	return "TEXT" // Text, UUID, JSON, Array, Geometry (WKT), Null
}

// numericPrecision returns p of a source type "numeric(p,s)" or
// "decimal(p)", or 0 when the type declares none.
func numericPrecision(sourceType string) int {
	i := strings.IndexByte(sourceType, '(')
	if i < 0 {
		return 0
	}
	s := strings.TrimLeft(sourceType[i+1:], " ")
	j := 0
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	p, err := strconv.Atoi(s[:j])
	if err != nil {
		return 0
	}
	return p
}

// WriteRow implements Writer.
func (w *sqliteWriter) WriteRow(r record.Row) error {
	if w.err != nil {
		return w.err
	}
	if w.conn == nil {
		return fmt.Errorf("dataset %s: %s: %w", w.dataset, w.format, errClosed)
	}
	if err := checkRow(w.dataset, r, len(w.cols)); err != nil {
		return err
	}
	for _, i := range w.keyIdx {
		// Checked here: SQLite gives a NULL INTEGER PRIMARY KEY a new rowid.
		if r[i].Kind == record.Null {
			w.err = fmt.Errorf("dataset %s: NULL in key column %s (key_columns: %s), row %d",
				w.dataset, w.cols[i].Name, w.keyNames(), w.rows+int64(w.n)+1)
			return w.err
		}
	}
	args := w.args[w.n*len(w.cols) : (w.n+1)*len(w.cols)]
	for i := range r {
		v, err := w.bindValue(i, &r[i])
		if err != nil {
			w.err = fmt.Errorf("dataset %s, column %s, %s: %w", w.dataset, w.cols[i].Name,
				keyString(w.cols, w.keyIdx, r, w.rows+int64(w.n)+1), err)
			return w.err
		}
		args[i].Value = v
	}
	w.n++
	if w.n == w.batch {
		return w.flush()
	}
	return nil
}

// bindValue converts one value to what go-sqlite3 binds. Text produced
// here lives in the arena until the pending rows are flushed. Only the
// geometry column's encoder can fail.
func (w *sqliteWriter) bindValue(col int, v *record.Value) (driver.Value, error) {
	switch w.bind[col] {
	case bindDigits:
		if v.Kind == record.Numeric {
			return v.S, nil
		}
	case bindReal:
		if v.Kind == record.Numeric {
			return realBind(v.S), nil
		}
	case bindTimeText:
		// A SQLite source decides timestamp or timestamptz per value; in a
		// column declared TEXT every one keeps its canonical text.
		if v.Kind == record.Timestamp || v.Kind == record.TimestampTZ {
			start := len(w.arena)
			w.arena = record.AppendText(w.arena, v)
			return w.arenaString(start), nil
		}
	case bindGeom:
		if v.Kind != record.Geometry || v.G == nil { // NULL, or did not parse
			return nil, nil
		}
		start := len(w.arena)
		b, err := w.spec.geom(w.arena, v, w.rows+int64(w.n)+1)
		if err != nil {
			w.arena = w.arena[:start]
			return nil, err
		}
		w.arena = b
		return w.arena[start:len(w.arena):len(w.arena)], nil
	}
	switch v.Kind {
	case record.Null:
		return nil, nil
	case record.Text, record.UUID, record.JSON, record.Array:
		return v.S, nil
	case record.Int:
		return v.I, nil
	case record.Float:
		if math.IsNaN(v.F) {
			return nil, nil // SQLite stores NaN as NULL anyway
		}
		return v.F, nil
	case record.Numeric:
		return numericBind(v.S), nil
	case record.Bool:
		if v.I != 0 {
			return int64(1), nil
		}
		return int64(0), nil
	case record.Date, record.Timestamp, record.TimestampTZ:
		start := len(w.arena)
		b, ok := w.spec.appendTime(w.arena, v)
		if !ok {
			return nil, nil
		}
		w.arena = b
		return w.arenaString(start), nil
	case record.Bytes:
		if len(v.B) == 0 {
			return emptyBlob, nil
		}
		start := len(w.arena)
		w.arena = append(w.arena, v.B...)
		return w.arena[start:len(w.arena):len(w.arena)], nil
	case record.Geometry:
		start := len(w.arena)
		if v.G == nil { // did not decode: the source's own text
			if !undecoded(v) {
				return nil, nil
			}
			w.arena = appendUndecoded(w.arena, v)
			return w.arenaString(start), nil
		}
		w.arena = appendWKT(w.arena, v)
		return w.arenaString(start), nil
	}
	return nil, nil
}

// appendTimeText is the sqlite format's text of a temporal value, the
// canonical one (ISO 8601, µs kept; "infinity" as is).
func appendTimeText(dst []byte, v *record.Value) ([]byte, bool) {
	return record.AppendText(dst, v), true
}

// arenaString returns the arena bytes from start as a string without
// copying. go-sqlite3 copies text when binding (SQLITE_TRANSIENT) and the
// arena is only overwritten after the pending rows are executed and their
// arguments cleared; if the arena grows, older strings keep the old array.
func (w *sqliteWriter) arenaString(start int) string {
	if len(w.arena) == start {
		return ""
	}
	return unsafe.String(&w.arena[start], len(w.arena)-start)
}

// numericBind returns the value a numeric's exact digits are stored as:
// int64 when they are an integer that fits, float64 when the shortest
// form of the float gives back the same digits (trailing fractional zeros
// aside), else the text itself.
func numericBind(s string) driver.Value {
	t := s
	if strings.IndexByte(t, '.') >= 0 {
		t = strings.TrimRight(t, "0")
		t = strings.TrimSuffix(t, ".")
	}
	if strings.IndexByte(t, '.') < 0 {
		if i, err := strconv.ParseInt(t, 10, 64); err == nil {
			return i
		}
	}
	if f, err := strconv.ParseFloat(t, 64); err == nil && record.IsFinite(f) {
		var buf [32]byte
		if string(strconv.AppendFloat(buf[:0], f, 'f', -1, 64)) == t {
			return f
		}
	}
	return s
}

// realBind returns the value a numeric in a column declared REAL is stored
// as (the nearest float64: exact up to 15 significant digits; the sqlite
// format declares REAL only then, the gpkg format for every numeric, as
// GDAL does): the float (infinities
// included), NULL for NaN, which SQLite cannot store as REAL, and text
// that is no number (possible from SQLite sources) as it is.
func realBind(s string) driver.Value {
	f, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil:
		return s
	case f != f:
		return nil
	}
	return f
}

// flush executes the pending rows.
func (w *sqliteWriter) flush() error {
	if w.n == 0 {
		return nil
	}
	ncols := len(w.cols)
	var err error
	if w.n == w.batch {
		_, err = w.multi.ExecContext(context.Background(), w.args)
	} else {
		for r := 0; r < w.n && err == nil; r++ {
			err = w.execSingle(r)
		}
	}
	if err != nil {
		err = w.insertError(err)
	} else {
		w.rows += int64(w.n)
		if w.spec.flushed != nil {
			err = w.exec(w.spec.flushed())
		}
	}
	for i := range w.args[:w.n*ncols] {
		w.args[i].Value = nil // keep the ordinals
	}
	w.n = 0
	w.arena = w.arena[:0]
	if err != nil {
		w.err = err
	}
	return err
}

// execSingle inserts pending row r alone.
func (w *sqliteWriter) execSingle(r int) error {
	ncols := len(w.cols)
	args := w.args[r*ncols : (r+1)*ncols]
	// Ordinals of a single-row statement start at 1.
	if w.one == nil {
		w.one = make([]driver.NamedValue, ncols)
	}
	for i := range args {
		w.one[i] = driver.NamedValue{Ordinal: i + 1, Value: args[i].Value}
	}
	_, err := w.single.ExecContext(context.Background(), w.one)
	for i := range w.one {
		w.one[i].Value = nil
	}
	if err != nil {
		return &rowError{row: r, err: err}
	}
	return nil
}

type rowError struct {
	row int
	err error
}

func (e *rowError) Error() string { return e.err.Error() }
func (e *rowError) Unwrap() error { return e.err }

// insertError turns a failed INSERT into an error naming the dataset and,
// for key violations, the key. A failed multi-row INSERT is rolled back as
// a statement (journal_mode=MEMORY keeps statement journals), so its rows
// are replayed one by one to find the offending one.
func (w *sqliteWriter) insertError(err error) error {
	var re *rowError
	if !errors.As(err, &re) && isConstraint(err) && w.n == w.batch {
		for r := 0; r < w.n; r++ {
			if e := w.execSingle(r); e != nil {
				err = e
				break
			}
		}
	}
	if !errors.As(err, &re) {
		return fmt.Errorf("dataset %s: %s: insert into %s: %w", w.dataset, w.format, w.table, err)
	}
	ncols := len(w.cols)
	args := w.args[re.row*ncols : (re.row+1)*ncols]
	var se sqlite3.Error
	if errors.As(err, &se) && se.Code == sqlite3.ErrConstraint {
		switch se.ExtendedCode {
		case sqlite3.ErrConstraintPrimaryKey, sqlite3.ErrConstraintUnique:
			return fmt.Errorf("dataset %s: duplicate key (%s) = (%s) in key_columns: %w",
				w.dataset, w.keyNames(), w.keyValues(args), err)
		case sqlite3.ErrConstraintNotNull:
			return fmt.Errorf("dataset %s: NULL in key column(s) (%s), key (%s): %w",
				w.dataset, w.keyNames(), w.keyValues(args), err)
		}
	}
	return fmt.Errorf("dataset %s: %s: insert row %d into %s: %w", w.dataset, w.format, w.rows+int64(re.row)+1, w.table, err)
}

func isConstraint(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == sqlite3.ErrConstraint
}

func (w *sqliteWriter) keyNames() string {
	names := make([]string, len(w.keyIdx))
	for n, i := range w.keyIdx {
		names[n] = w.cols[i].Name
	}
	return strings.Join(names, ", ")
}

func (w *sqliteWriter) keyValues(args []driver.NamedValue) string {
	vals := make([]string, len(w.keyIdx))
	for n, i := range w.keyIdx {
		switch v := args[i].Value.(type) {
		case nil:
			vals[n] = "NULL"
		case string:
			vals[n] = strconv.Quote(v)
		case []byte:
			vals[n] = fmt.Sprintf("x'%x'", v)
		default:
			vals[n] = fmt.Sprint(v)
		}
	}
	return strings.Join(vals, ", ")
}

// Close implements Writer: it inserts the pending rows, commits and closes
// the database. After an error it only closes it.
func (w *sqliteWriter) Close() error {
	if w.conn == nil {
		return w.err
	}
	err := w.err
	if err == nil {
		err = w.flush()
	}
	if err == nil && w.spec.finish != nil {
		err = w.exec(w.spec.finish())
	}
	if err == nil {
		if _, e := w.conn.Exec("COMMIT", nil); e != nil {
			err = fmt.Errorf("dataset %s: %s: commit: %w", w.dataset, w.format, e)
		}
	}
	for _, st := range []driver.StmtExecContext{w.multi, w.single} {
		if c, ok := st.(driver.Stmt); ok {
			c.Close()
		}
	}
	if e := w.conn.Close(); e != nil && err == nil {
		err = fmt.Errorf("dataset %s: %s: close: %w", w.dataset, w.format, e)
	}
	w.conn = nil
	if w.err == nil {
		w.err = err
	}
	return err
}
