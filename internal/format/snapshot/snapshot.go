package snapshot

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3" // database/sql driver "sqlite3"

	"github.com/countydatasync/countysync/internal/record"
	"github.com/countydatasync/countysync/internal/safefs"
)

// Change says what Put did to the snapshot.
type Change int

// The outcomes of Put.
const (
	Inserted Change = iota
	Updated
	Unchanged
)

// formatVersion is the version of the snapshot's layout. A snapshot of
// another version cannot be merged into: Changes says so, and the next run
// rebuilds it. 2: keys stored by value (sortKey); keyless snapshots keep
// the cursor.
const formatVersion = 2

// meta is what a snapshot records about itself.
type meta struct {
	Version int      `json:"version,omitempty"`
	Columns []column `json:"columns"`
	Keys    []string `json:"keys"`
	// Cursor is the incremental cursor column of a snapshot without keys,
	// kept per row (rows.c) so an incremental run can replace the rows it
	// reads again.
	Cursor string `json:"cursor,omitempty"`
	// DeletesChecked is when the source's key set was last compared with
	// the snapshot's (incremental.deletes: keys).
	DeletesChecked time.Time `json:"deletes_checked,omitzero"`
}

type column struct {
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	SourceType string `json:"source_type,omitempty"`
}

// Options says how a snapshot's rows are identified.
type Options struct {
	// Keys are the key columns (none: the snapshot keeps rows in arrival
	// order, duplicates included).
	Keys []string
	// Cursor is the incremental cursor column of a snapshot without keys
	// ("" for datasets that are not incremental). See Writer.Replace.
	Cursor string
}

// Writer adds rows to a snapshot inside one transaction.
type Writer struct {
	db      *sql.DB
	tx      *sql.Tx
	schema  *record.Schema
	keys    []int
	cursor  int // column kept in rows.c (keyless snapshots), or -1
	merge   bool
	insert  *sql.Stmt
	update  *sql.Stmt
	get     *sql.Stmt
	del     *sql.Stmt
	seen    *sql.Stmt // merge with keys: every key of this run, to refuse a duplicate
	buf     []byte
	kbufs   [][]byte
	args    []any
	dataset string
	meta    meta
	// replacing is set by Replace: rows in temp.cand may be matched by an
	// identical row read again (Unchanged) and the rest are removed at
	// Commit.
	replacing bool
	match     *sql.Stmt
	unmark    *sql.Stmt
	replaced  int64
}

func open(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=OFF&_synchronous=OFF")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// Create makes a new, empty snapshot at path for rows of schema.
func Create(ctx context.Context, path, dataset string, schema *record.Schema, opts Options) (*Writer, error) {
	// Created here, exclusively and never through a link, before SQLite
	// opens it by name.
	if err := safefs.Touch(path); err != nil {
		return nil, fmt.Errorf("create snapshot: %w", err)
	}
	db, err := open(path)
	if err != nil {
		return nil, err
	}
	m := meta{Version: formatVersion, Keys: opts.Keys}
	if len(opts.Keys) == 0 {
		m.Cursor = opts.Cursor
	}
	for _, c := range schema.Columns {
		m.Columns = append(m.Columns, column{Name: c.Name, Kind: c.Kind.String(), SourceType: c.SourceType})
	}
	mj, _ := json.Marshal(m)
	ddl := []string{
		`CREATE TABLE meta (doc TEXT NOT NULL)`,
		rowsDDL(len(opts.Keys)),
	}
	if len(opts.Keys) == 0 {
		ddl = append(ddl, `CREATE INDEX rows_h ON rows (h)`)
		if m.Cursor != "" {
			ddl = append(ddl, `CREATE INDEX rows_c ON rows (c)`)
		}
	}
	for _, s := range ddl {
		if _, err := db.ExecContext(ctx, s); err != nil {
			db.Close()
			return nil, fmt.Errorf("create snapshot: %w", err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO meta(doc) VALUES (?)`, string(mj)); err != nil {
		db.Close()
		return nil, fmt.Errorf("create snapshot: %w", err)
	}
	return newWriter(ctx, db, dataset, schema, m, false)
}

// ErrKey wraps the errors of a duplicate or NULL key.
var ErrKey = errors.New("key_columns must identify every row")

// ErrChanged wraps the error of Merge when the snapshot cannot take the
// rows: the query's columns, the keys or the snapshot's layout changed.
var ErrChanged = errors.New("snapshot does not match the query")

// Merge opens the existing snapshot at path to merge rows into. The rows'
// schema and options must be the snapshot's (see Changes): otherwise the
// error wraps ErrChanged and lists the differences.
func Merge(ctx context.Context, path, dataset string, schema *record.Schema, opts Options) (*Writer, error) {
	db, err := open(path)
	if err != nil {
		return nil, err
	}
	m, err := readMetaDoc(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	info := m.info()
	ch := Changes(info, schema, opts)
	if !info.Current() {
		ch = append(ch, fmt.Sprintf("the snapshot was written in layout %d; this version writes %d", info.Version, formatVersion))
	}
	if len(ch) > 0 {
		db.Close()
		return nil, fmt.Errorf("dataset %s: %w: %s", dataset, ErrChanged, strings.Join(ch, "; "))
	}
	return newWriter(ctx, db, dataset, schema, m, true)
}

func rowsDDL(nkeys int) string {
	if nkeys == 0 {
		// h is a hash of data, indexed, so an incremental run can find a
		// row it reads again; c is the cursor's sortKey.
		return `CREATE TABLE rows (seq INTEGER PRIMARY KEY, h INTEGER NOT NULL, c, data BLOB NOT NULL)`
	}
	cols := make([]string, nkeys)
	for i := range cols {
		cols[i] = fmt.Sprintf("k%d", i)
	}
	return fmt.Sprintf(`CREATE TABLE rows (%s, data BLOB NOT NULL, PRIMARY KEY (%s)) WITHOUT ROWID`,
		strings.Join(cols, ", "), strings.Join(cols, ", "))
}

func keyCols(n int) []string {
	cols := make([]string, n)
	for i := range cols {
		cols[i] = fmt.Sprintf("k%d", i)
	}
	return cols
}

func newWriter(ctx context.Context, db *sql.DB, dataset string, schema *record.Schema, m meta, merge bool) (*Writer, error) {
	w := &Writer{db: db, merge: merge, dataset: dataset, schema: schema, cursor: -1, meta: m}
	for _, k := range m.Keys {
		i, err := schema.MustIndex(k)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("dataset %s: key column: %w", dataset, err)
		}
		w.keys = append(w.keys, i)
	}
	if m.Cursor != "" && len(m.Keys) == 0 {
		i, err := schema.MustIndex(m.Cursor)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("dataset %s: incremental.column: %w", dataset, err)
		}
		w.cursor = i
	}
	var err error
	if w.tx, err = db.BeginTx(ctx, nil); err != nil {
		db.Close()
		return nil, err
	}
	n := len(m.Keys)
	cols := keyCols(n)
	where := make([]string, n)
	ph := make([]string, n)
	for i := range where {
		where[i] = fmt.Sprintf("k%d = ?%d", i, i+1)
		ph[i] = "?"
	}
	exec := func(q string) {
		if err == nil {
			_, err = w.tx.ExecContext(ctx, q)
		}
	}
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var s *sql.Stmt
		s, err = w.tx.PrepareContext(ctx, q)
		return s
	}
	if n == 0 {
		w.insert = prep(`INSERT INTO rows(h, c, data) VALUES (?, ?, ?)`)
	} else {
		w.insert = prep(fmt.Sprintf(`INSERT INTO rows(%s, data) VALUES (%s, ?)`, strings.Join(cols, ", "), strings.Join(ph, ", ")))
		w.update = prep(fmt.Sprintf(`UPDATE rows SET data = ?%d WHERE %s`, n+1, strings.Join(where, " AND ")))
		w.get = prep(fmt.Sprintf(`SELECT data FROM rows WHERE %s`, strings.Join(where, " AND ")))
		w.del = prep(fmt.Sprintf(`DELETE FROM rows WHERE %s`, strings.Join(where, " AND ")))
		if merge {
			exec(fmt.Sprintf(`CREATE TEMP TABLE seen (%s, PRIMARY KEY (%s)) WITHOUT ROWID`,
				strings.Join(cols, ", "), strings.Join(cols, ", ")))
			w.seen = prep(fmt.Sprintf(`INSERT INTO temp.seen(%s) VALUES (%s)`, strings.Join(cols, ", "), strings.Join(ph, ", ")))
		}
	}
	if err != nil {
		w.Abort()
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	w.args = make([]any, n+1)
	w.kbufs = make([][]byte, n)
	return w, nil
}

// keyArgs fills w.args[:len(keys)] with the row's key values in SQLite form.
func (w *Writer) keyArgs(row record.Row) error {
	for j, i := range w.keys {
		v := &row[i]
		if v.Kind == record.Null {
			return fmt.Errorf("dataset %s: key column %s is NULL: %w", w.dataset, w.schema.Columns[i].Name, ErrKey)
		}
		k := keyOf(v, w.kbufs[j])
		w.kbufs[j] = k.b
		w.args[j] = k.arg()
	}
	return nil
}

// markSeen records the key in w.args for this run and fails on a key the
// run has already seen: a duplicate in the source, which a full run would
// refuse too.
func (w *Writer) markSeen(ctx context.Context, row record.Row) error {
	if w.seen == nil {
		return nil
	}
	if _, err := w.seen.ExecContext(ctx, w.args[:len(w.keys)]...); err != nil {
		return w.keyError(row, err)
	}
	return nil
}

// Put adds row, replacing the row with the same key. Without key columns
// it appends (see Replace for rows read again). A key already put or
// deleted in this run is a duplicate: an error, as in a full run.
func (w *Writer) Put(ctx context.Context, row record.Row) (Change, error) {
	w.buf = record.AppendRow(w.buf[:0], row)
	if len(w.keys) == 0 {
		return w.appendRow(ctx, row)
	}
	if err := w.keyArgs(row); err != nil {
		return 0, err
	}
	n := len(w.keys)
	w.args[n] = w.buf
	if !w.merge {
		if _, err := w.insert.ExecContext(ctx, w.args...); err != nil {
			return 0, w.keyError(row, err)
		}
		return Inserted, nil
	}
	if err := w.markSeen(ctx, row); err != nil {
		return 0, err
	}
	var old []byte
	err := w.get.QueryRowContext(ctx, w.args[:n]...).Scan(&old)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := w.insert.ExecContext(ctx, w.args...); err != nil {
			return 0, w.keyError(row, err)
		}
		return Inserted, nil
	case err != nil:
		return 0, err
	case string(old) == string(w.buf):
		return Unchanged, nil
	}
	if _, err := w.update.ExecContext(ctx, w.args...); err != nil {
		return 0, err
	}
	return Updated, nil
}

func (w *Writer) keyError(row record.Row, err error) error {
	if strings.Contains(err.Error(), "UNIQUE constraint failed") {
		return fmt.Errorf("dataset %s: duplicate key %s: %w", w.dataset, w.KeyString(row), ErrKey)
	}
	return err
}

// KeyString renders the row's key as "col=value, …" for messages.
func (w *Writer) KeyString(row record.Row) string {
	return keyString(w.schema, w.keys, row)
}

// Delete removes the row with row's key and reports whether there was one.
func (w *Writer) Delete(ctx context.Context, row record.Row) (bool, error) {
	if len(w.keys) == 0 {
		return false, errors.New("snapshot without key columns cannot delete rows")
	}
	if err := w.keyArgs(row); err != nil {
		return false, err
	}
	if err := w.markSeen(ctx, row); err != nil {
		return false, err
	}
	res, err := w.del.ExecContext(ctx, w.args[:len(w.keys)]...)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// Commit makes the rows durable and closes the snapshot. After Replace,
// the rows it marked that no row read again matched are removed first.
func (w *Writer) Commit() error {
	err := w.finishReplace()
	if err == nil {
		err = w.tx.Commit()
	} else {
		_ = w.tx.Rollback()
	}
	if cerr := w.db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("dataset %s: commit snapshot: %w", w.dataset, err)
	}
	return nil
}

// Abort discards the rows added and closes the snapshot.
func (w *Writer) Abort() {
	if w.tx != nil {
		_ = w.tx.Rollback()
	}
	_ = w.db.Close()
}

// Info is what a snapshot says about itself.
type Info struct {
	// Version is the snapshot's layout (formatVersion when current).
	Version int
	Schema  *record.Schema
	Options Options
	// DeletesChecked is when the source's keys were last compared with
	// the snapshot's (zero: never).
	DeletesChecked time.Time
}

func (m *meta) info() *Info {
	s := &record.Schema{}
	for _, c := range m.Columns {
		k, _ := record.ParseKind(c.Kind)
		s.Columns = append(s.Columns, record.Column{Name: c.Name, Kind: k, SourceType: c.SourceType})
	}
	return &Info{Version: m.Version, Schema: s, Options: Options{Keys: m.Keys, Cursor: m.Cursor}, DeletesChecked: m.DeletesChecked}
}

// Stat reads the description of the snapshot at path.
func Stat(ctx context.Context, path string) (*Info, error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	m, err := readMetaDoc(ctx, db)
	if err != nil {
		return nil, err
	}
	return m.info(), nil
}

func readMetaDoc(ctx context.Context, db *sql.DB) (meta, error) {
	var doc string
	var m meta
	if err := db.QueryRowContext(ctx, `SELECT doc FROM meta`).Scan(&doc); err != nil {
		return m, fmt.Errorf("snapshot is unreadable: %w", err)
	}
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		return m, fmt.Errorf("snapshot metadata is corrupt: %w", err)
	}
	for _, c := range m.Columns {
		if _, err := record.ParseKind(c.Kind); err != nil {
			return m, fmt.Errorf("snapshot metadata: %w", err)
		}
	}
	return m, nil
}

func readMeta(ctx context.Context, db *sql.DB) (*record.Schema, []string, error) {
	m, err := readMetaDoc(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	info := m.info()
	return info.Schema, info.Options.Keys, nil
}

// SetDeletesChecked records, with the rows, when the source's keys were
// compared with the snapshot's.
func (w *Writer) SetDeletesChecked(ctx context.Context, t time.Time) error {
	w.meta.DeletesChecked = t.UTC()
	mj, _ := json.Marshal(w.meta)
	if _, err := w.tx.ExecContext(ctx, `UPDATE meta SET doc = ?`, string(mj)); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}

// appendRow appends the encoded row (w.buf) to a snapshot without keys.
// After Replace, a row identical to one Replace marked takes that row's
// place (Unchanged): a row read again stays where it was, once for each
// time the source holds it.
func (w *Writer) appendRow(ctx context.Context, row record.Row) (Change, error) {
	h := int64(hashBytes(w.buf))
	if w.replacing {
		rows, err := w.match.QueryContext(ctx, h)
		if err != nil {
			return 0, err
		}
		var seq int64
		found := false
		for rows.Next() && !found {
			var old []byte
			if err := rows.Scan(&seq, &old); err != nil {
				rows.Close()
				return 0, err
			}
			found = string(old) == string(w.buf)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return 0, err
		}
		if found {
			if _, err := w.unmark.ExecContext(ctx, seq); err != nil {
				return 0, err
			}
			return Unchanged, nil
		}
	}
	var c any
	if w.cursor >= 0 && row[w.cursor].Kind != record.Null {
		k := keyOf(&row[w.cursor], nil)
		c = k.arg()
	}
	_, err := w.insert.ExecContext(ctx, h, c, w.buf)
	return Inserted, err
}

// Replace prepares an incremental run of a snapshot without keys that
// reads again every row whose cursor is at or above min (every row when
// min is NULL), and the rows whose cursor is NULL when nulls is true: the
// snapshot's rows there are replaced by the rows read, so the files hold
// exactly the source's rows, duplicates included. Rows put that equal a
// row already there keep its place. The snapshot must have been created
// with Options.Cursor.
func (w *Writer) Replace(ctx context.Context, min record.Value, nulls bool) error {
	if len(w.keys) != 0 || w.cursor < 0 || !w.merge {
		return errors.New("snapshot: Replace needs a merge into a snapshot without keys that keeps the cursor")
	}
	cond := "1"
	var args []any
	if min.Kind != record.Null {
		cond = "c >= ?"
		args = append(args, keyOf(&min, nil).arg())
		if nulls {
			cond += " OR c IS NULL"
		}
	}
	stmts := []string{
		`CREATE TEMP TABLE cand (seq INTEGER PRIMARY KEY, h INTEGER NOT NULL)`,
		`INSERT INTO temp.cand SELECT seq, h FROM rows WHERE ` + cond,
		`CREATE INDEX temp.cand_h ON cand (h)`,
	}
	for i, q := range stmts {
		var a []any
		if i == 1 {
			a = args
		}
		if _, err := w.tx.ExecContext(ctx, q, a...); err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
	}
	var err error
	if w.match, err = w.tx.PrepareContext(ctx, `SELECT rows.seq, rows.data FROM temp.cand JOIN rows ON rows.seq = cand.seq WHERE cand.h = ?`); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if w.unmark, err = w.tx.PrepareContext(ctx, `DELETE FROM temp.cand WHERE seq = ?`); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	w.replacing = true
	return nil
}

// Replaced is the number of rows Replace marked that no row read again
// matched: removed by Commit. Valid after Commit.
func (w *Writer) Replaced() int64 { return w.replaced }

func (w *Writer) finishReplace() error {
	if !w.replacing {
		return nil
	}
	res, err := w.tx.Exec(`DELETE FROM rows WHERE seq IN (SELECT seq FROM temp.cand)`)
	if err != nil {
		return err
	}
	w.replaced, _ = res.RowsAffected()
	return nil
}

// hashBytes is 64-bit FNV-1a.
func hashBytes(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}
