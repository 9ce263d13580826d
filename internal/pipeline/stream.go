package pipeline

import (
	"context"
	"fmt"
	"slices"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/format/snapshot"
	"github.com/countydatasync/countysync/internal/record"
	"github.com/countydatasync/countysync/internal/source"
)

// sourceOrder is the key order the dataset asks its source for: its key
// columns, unless a transformation writes one of them (the source's order
// of a column says nothing of its transformed values). Rows that come
// sorted can stream (canStream), and a snapshot takes sorted rows faster.
func sourceOrder(d *config.Dataset) []string {
	if len(d.KeyColumns) == 0 {
		return nil
	}
	if d.Transform != nil {
		for _, c := range d.Transform.Columns() {
			if slices.Contains(d.KeyColumns, c) {
				return nil
			}
		}
	}
	return d.KeyColumns
}

// canStream reports whether a read may stream straight into the formats:
// a full run of a dataset without incremental (nothing is merged) whose
// rows come in the snapshot's key order, sorted by the source (or a
// dataset without key columns, which keeps the query's order). Otherwise
// the same rows go into a snapshot, which sorts them: the source is read
// once either way.
func canStream(d *config.Dataset, ext *Extraction, rows source.Rows) bool {
	if d.Incremental != nil || ext.Mode != ModeFull {
		return false
	}
	return len(d.KeyColumns) == 0 || (rows.Ordered() && sourceOrder(d) != nil)
}

// stream renders a full run of a dataset without incremental in one pass:
// rows stream from the query (which canStream accepted) through the
// transformations into every format at once, and each file is published
// under its timestamped name (not the latest name: that is Publish's).
// The files are what a snapshot of the same rows renders: the source
// sorted them by key. Memory stays flat, and no snapshot is written or
// moved. A row that breaks the key order is a permanent error naming its
// key: a duplicate or NULL key, or a value the source sorted differently
// from the snapshot (a REAL stored in an INTEGER column of SQLite). The
// caller holds the dataset's lock.
func stream(ctx context.Context, env *Env, job Job, d *config.Dataset, opts Options, formats []string,
	ext *Extraction, rows source.Rows) (artifacts []*Artifact, w *Warnings, err error) {
	ext.Streamed = true
	w = &Warnings{}
	st, err := newStage(d, rows.Schema(), opts.Strict, w, true)
	if err != nil {
		return nil, nil, err
	}
	order, err := snapshot.NewKeyOrder(st.schema, d.KeyColumns)
	if err != nil {
		return nil, nil, permanent(fmt.Errorf("dataset %s: %w", d.Name, err))
	}
	exp, err := renderRows(ctx, env, job, d, rows, st, formats, func(row record.Row) error {
		ext.RowsRead++
		if err := st.transform(row); err != nil {
			return err
		}
		if !order.Next(row) {
			return permanent(keyOrderError(d, st, order, row, ext.RowsRead))
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	ext.Records, ext.Inserted = exp.rows, exp.rows
	env.Log.Info("extracted", "job_id", job.ID, "dataset", d.Name, "records", ext.Records, "rows_read", ext.RowsRead)
	return exp.artifacts, w, nil
}

// keyOrderError says why row broke the key order of a streamed read.
func keyOrderError(d *config.Dataset, st *stage, order *snapshot.KeyOrder, row record.Row, n int64) error {
	switch order.Problem(row) {
	case snapshot.NullKey:
		return fmt.Errorf("dataset %s, row %d: a key column is NULL (%s): key columns must identify every row", d.Name, n, st.key(row))
	case snapshot.DuplicateKey:
		return fmt.Errorf("dataset %s: duplicate key %s: key_columns must identify every row", d.Name, st.key(row))
	}
	return fmt.Errorf("dataset %s: row %d (%s) came out of key order although the source sorted the rows by %v: "+
		"a key value whose type does not fit its column sorts differently in the source; fix the value or cast the key in the query",
		d.Name, n, st.key(row), d.KeyColumns)
}
