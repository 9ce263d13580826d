package snapshot

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/countydatasync/countysync/internal/record"
)

// Reader streams a snapshot's rows in key order. It implements
// source.Rows.
type Reader struct {
	db     *sql.DB
	rows   *sql.Rows
	schema *record.Schema
	row    record.Row
	raw    sql.RawBytes
	err    error
}

// Open opens the snapshot at path for reading.
func Open(ctx context.Context, path string) (*Reader, error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	schema, keys, err := readMeta(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	order := "seq"
	if len(keys) > 0 {
		order = "k0"
		for i := 1; i < len(keys); i++ {
			order += fmt.Sprintf(", k%d", i)
		}
	}
	rows, err := db.QueryContext(ctx, "SELECT data FROM rows ORDER BY "+order)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	return &Reader{db: db, rows: rows, schema: schema}, nil
}

// Schema returns the snapshot's columns.
func (r *Reader) Schema() *record.Schema { return r.schema }

// Next advances to the next row.
func (r *Reader) Next() bool {
	if r.err != nil || !r.rows.Next() {
		return false
	}
	if r.err = r.rows.Scan(&r.raw); r.err != nil {
		return false
	}
	r.row, r.err = record.DecodeRow(r.raw, r.row)
	if r.err == nil && len(r.row) != len(r.schema.Columns) {
		r.err = fmt.Errorf("snapshot row has %d values, schema %d", len(r.row), len(r.schema.Columns))
	}
	return r.err == nil
}

// Row returns the current row.
func (r *Reader) Row() record.Row { return r.row }

// Err returns the error that stopped iteration.
func (r *Reader) Err() error {
	if r.err != nil {
		return fmt.Errorf("read snapshot: %w", r.err)
	}
	if err := r.rows.Err(); err != nil {
		return fmt.Errorf("read snapshot: %w", err)
	}
	return nil
}

// Close releases the snapshot.
func (r *Reader) Close() {
	if r.rows != nil {
		r.rows.Close()
		r.rows = nil
	}
	if r.db != nil {
		r.db.Close()
		r.db = nil
	}
}

// Count returns the number of rows in the snapshot at path.
func Count(ctx context.Context, path string) (int64, error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM rows`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count snapshot rows: %w", err)
	}
	return n, nil
}
