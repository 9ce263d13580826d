package snapshot

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

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

// meta is what a snapshot records about itself.
type meta struct {
	Columns []column `json:"columns"`
	Keys    []string `json:"keys"`
}

type column struct {
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	SourceType string `json:"source_type,omitempty"`
}

// Writer adds rows to a snapshot inside one transaction.
type Writer struct {
	db      *sql.DB
	tx      *sql.Tx
	keys    []int
	merge   bool
	insert  *sql.Stmt
	update  *sql.Stmt
	get     *sql.Stmt
	del     *sql.Stmt
	buf     []byte
	args    []any
	dataset string
	// maxSeq is the last row of the snapshot before this run (append
	// mode): only those count as already present.
	maxSeq int64
	same   *sql.Stmt
}

func open(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=OFF&_synchronous=OFF")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// Create makes a new, empty snapshot at path for rows of schema keyed by
// keys (column names; none for append-only datasets).
func Create(ctx context.Context, path, dataset string, schema *record.Schema, keys []string) (*Writer, error) {
	// Created here, exclusively and never through a link, before SQLite
	// opens it by name.
	if err := safefs.Touch(path); err != nil {
		return nil, fmt.Errorf("create snapshot: %w", err)
	}
	db, err := open(path)
	if err != nil {
		return nil, err
	}
	m := meta{Keys: keys}
	for _, c := range schema.Columns {
		m.Columns = append(m.Columns, column{Name: c.Name, Kind: c.Kind.String(), SourceType: c.SourceType})
	}
	mj, _ := json.Marshal(m)
	ddl := []string{
		`CREATE TABLE meta (doc TEXT NOT NULL)`,
		rowsDDL(len(keys)),
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
	return newWriter(ctx, db, dataset, schema, keys, false)
}

// Merge opens the existing snapshot at path to merge rows into. The rows'
// schema must equal the snapshot's: a changed query needs a full run.
func Merge(ctx context.Context, path, dataset string, schema *record.Schema, keys []string) (*Writer, error) {
	db, err := open(path)
	if err != nil {
		return nil, err
	}
	old, oldKeys, err := readMeta(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := sameSchema(old, schema); err != nil || strings.Join(oldKeys, ",") != strings.Join(keys, ",") {
		db.Close()
		if err == nil {
			err = fmt.Errorf("key columns changed from %v to %v", oldKeys, keys)
		}
		return nil, fmt.Errorf("dataset %s: %w since the last run; run with --full to rebuild it", dataset, err)
	}
	return newWriter(ctx, db, dataset, schema, keys, true)
}

func sameSchema(a, b *record.Schema) error {
	if len(a.Columns) != len(b.Columns) {
		return fmt.Errorf("the query's columns changed from %v to %v", a.Names(), b.Names())
	}
	for i := range a.Columns {
		if a.Columns[i].Name != b.Columns[i].Name || a.Columns[i].Kind != b.Columns[i].Kind {
			return fmt.Errorf("column %d changed from %s %s to %s %s", i+1,
				a.Columns[i].Name, a.Columns[i].Kind, b.Columns[i].Name, b.Columns[i].Kind)
		}
	}
	return nil
}

func rowsDDL(nkeys int) string {
	if nkeys == 0 {
		// h is a hash of data, indexed, so an incremental run re-reading
		// rows at its boundary can find rows it already has.
		return `CREATE TABLE rows (seq INTEGER PRIMARY KEY, h INTEGER NOT NULL, data BLOB NOT NULL);
			CREATE INDEX rows_h ON rows (h)`
	}
	cols := make([]string, nkeys)
	for i := range cols {
		cols[i] = fmt.Sprintf("k%d", i)
	}
	return fmt.Sprintf(`CREATE TABLE rows (%s, data BLOB NOT NULL, PRIMARY KEY (%s)) WITHOUT ROWID`,
		strings.Join(cols, ", "), strings.Join(cols, ", "))
}

func newWriter(ctx context.Context, db *sql.DB, dataset string, schema *record.Schema, keys []string, merge bool) (*Writer, error) {
	w := &Writer{db: db, merge: merge, dataset: dataset}
	for _, k := range keys {
		i, err := schema.MustIndex(k)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("dataset %s: key column: %w", dataset, err)
		}
		w.keys = append(w.keys, i)
	}
	var err error
	if w.tx, err = db.BeginTx(ctx, nil); err != nil {
		db.Close()
		return nil, err
	}
	n := len(keys)
	where := make([]string, n)
	ph := make([]string, n)
	for i := range where {
		where[i] = fmt.Sprintf("k%d = ?%d", i, i+1)
		ph[i] = "?"
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
		w.insert = prep(`INSERT INTO rows(h, data) VALUES (?, ?)`)
		w.same = prep(`SELECT data FROM rows WHERE h = ? AND seq <= ?`)
		if err == nil && merge {
			err = w.tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM rows`).Scan(&w.maxSeq)
		}
	} else {
		cols := make([]string, n)
		for i := range cols {
			cols[i] = fmt.Sprintf("k%d", i)
		}
		w.insert = prep(fmt.Sprintf(`INSERT INTO rows(%s, data) VALUES (%s, ?)`, strings.Join(cols, ", "), strings.Join(ph, ", ")))
		w.update = prep(fmt.Sprintf(`UPDATE rows SET data = ?%d WHERE %s`, n+1, strings.Join(where, " AND ")))
		w.get = prep(fmt.Sprintf(`SELECT data FROM rows WHERE %s`, strings.Join(where, " AND ")))
		w.del = prep(fmt.Sprintf(`DELETE FROM rows WHERE %s`, strings.Join(where, " AND ")))
	}
	if err != nil {
		w.Abort()
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	w.args = make([]any, n+1)
	return w, nil
}

// keyArgs fills w.args[:len(keys)] with the row's key values in SQLite form.
func (w *Writer) keyArgs(row record.Row) error {
	for j, i := range w.keys {
		v := &row[i]
		switch v.Kind {
		case record.Null:
			return fmt.Errorf("dataset %s: key column %d is NULL: key columns must identify every row", w.dataset, i+1)
		case record.Int, record.Bool:
			w.args[j] = v.I
		default:
			w.args[j] = v.String()
		}
	}
	return nil
}

// Put adds row, replacing the row with the same key. Without key columns
// it appends.
func (w *Writer) Put(ctx context.Context, row record.Row) (Change, error) {
	w.buf = record.AppendRow(w.buf[:0], row)
	if len(w.keys) == 0 {
		return w.appendRow(ctx)
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
		return fmt.Errorf("dataset %s: duplicate key %s: key_columns must identify every row", w.dataset, w.KeyString(row))
	}
	return err
}

// KeyString renders the row's key as "col=value, …" for messages.
func (w *Writer) KeyString(row record.Row) string {
	var b strings.Builder
	for j, i := range w.keys {
		if j > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "#%d=%s", i+1, row[i].String())
	}
	return b.String()
}

// Delete removes the row with row's key and reports whether there was one.
func (w *Writer) Delete(ctx context.Context, row record.Row) (bool, error) {
	if len(w.keys) == 0 {
		return false, errors.New("snapshot without key columns cannot delete rows")
	}
	if err := w.keyArgs(row); err != nil {
		return false, err
	}
	res, err := w.del.ExecContext(ctx, w.args[:len(w.keys)]...)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// Commit makes the rows durable and closes the snapshot.
func (w *Writer) Commit() error {
	err := w.tx.Commit()
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

func readMeta(ctx context.Context, db *sql.DB) (*record.Schema, []string, error) {
	var doc string
	if err := db.QueryRowContext(ctx, `SELECT doc FROM meta`).Scan(&doc); err != nil {
		return nil, nil, fmt.Errorf("snapshot is unreadable: %w", err)
	}
	var m meta
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		return nil, nil, fmt.Errorf("snapshot metadata is corrupt: %w", err)
	}
	s := &record.Schema{}
	for _, c := range m.Columns {
		k, err := record.ParseKind(c.Kind)
		if err != nil {
			return nil, nil, fmt.Errorf("snapshot metadata: %w", err)
		}
		s.Columns = append(s.Columns, record.Column{Name: c.Name, Kind: k, SourceType: c.SourceType})
	}
	return s, m.Keys, nil
}

// appendRow appends the encoded row (w.buf) to a snapshot without keys.
// When merging, a row identical to one the snapshot already had is the
// incremental query re-reading its boundary: it is not appended again.
func (w *Writer) appendRow(ctx context.Context) (Change, error) {
	h := int64(hashBytes(w.buf))
	if w.merge && w.maxSeq > 0 {
		rows, err := w.same.QueryContext(ctx, h, w.maxSeq)
		if err != nil {
			return 0, err
		}
		found := false
		for rows.Next() && !found {
			var old []byte
			if err := rows.Scan(&old); err != nil {
				rows.Close()
				return 0, err
			}
			found = string(old) == string(w.buf)
		}
		rows.Close()
		if found {
			return Unchanged, nil
		}
	}
	_, err := w.insert.ExecContext(ctx, h, w.buf)
	return Inserted, err
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
