package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/format/snapshot"
	"github.com/countydatasync/countysync/internal/record"
)

// ErrNotKeyOrdered stops Stream at the first row whose key is not above
// the previous row's: the files would not be what a snapshot of the rows
// renders, so the caller extracts into a snapshot and renders that.
var ErrNotKeyOrdered = errors.New("rows are not in key order")

// Stream is the full run of a dataset without incremental: rows stream
// from the query through the transformations into every format at once,
// and each file is published under its timestamped name (not the latest
// name: that is Publish's). DESIGN.md §1 allows it when nothing is merged
// and the files are what a snapshot renders: the source is read once,
// memory stays flat, and no snapshot is written or moved. The rows must
// therefore come in the snapshot's key order; at the first that does not,
// Stream stops with an error wrapping ErrNotKeyOrdered before anything is
// published. The caller holds the dataset's lock.
func Stream(ctx context.Context, env *Env, job Job, d *config.Dataset, opts Options, formats []string, exclusive bool) (*Extraction, []*Artifact, *Warnings, error) {
	if d.Incremental != nil {
		return nil, nil, nil, fmt.Errorf("dataset %s: an incremental dataset merges into its snapshot and cannot stream", d.Name)
	}
	ext := &Extraction{Dataset: d.Name, Mode: "full"}
	env.Log.Info("extracting", "job_id", job.ID, "dataset", d.Name, "mode", ext.Mode, "streaming", true)
	rows, err := query(ctx, env, d, ext, record.Value{})
	if err != nil {
		return nil, nil, nil, err
	}
	defer rows.Close()
	w := &Warnings{}
	st, err := newStage(d, rows.Schema(), opts.Strict, w, true)
	if err != nil {
		return nil, nil, nil, err
	}
	st.renderWKTFor(formats)
	order, err := snapshot.NewKeyOrder(st.schema, d.KeyColumns)
	if err != nil {
		return nil, nil, nil, permanent(fmt.Errorf("dataset %s: %w", d.Name, err))
	}
	exp, err := newExporter(env.Store, job, d, st.schema, formats)
	if err != nil {
		return nil, nil, nil, err
	}
	defer exp.abort()
	for rows.Next() {
		row := rows.Row()
		ext.RowsRead++
		if err := st.transform(row); err != nil {
			return nil, nil, nil, err
		}
		if !order.Next(row) {
			env.Progress.Add(-exp.rows)
			return nil, nil, nil, fmt.Errorf("dataset %s: row %d (%s): %w", d.Name, ext.RowsRead, st.key(row), ErrNotKeyOrdered)
		}
		if err := renderRow(env, exp, st, row); err != nil {
			return nil, nil, nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, nil, fmt.Errorf("dataset %s: %w", d.Name, err)
	}
	if err := exp.finish(); err != nil {
		return nil, nil, nil, fmt.Errorf("dataset %s: %w", d.Name, err)
	}
	ext.Records, ext.Inserted = exp.rows, exp.rows
	env.Log.Info("extracted", "job_id", job.ID, "dataset", d.Name, "records", ext.Records, "rows_read", ext.RowsRead)
	if err := exp.upload(ctx, env.Store, exclusive); err != nil {
		return nil, nil, nil, fmt.Errorf("dataset %s: %w", d.Name, err)
	}
	return ext, exp.artifacts, w, nil
}

// LogNotKeyOrdered tells the user why a full run goes through a snapshot
// (err wraps ErrNotKeyOrdered and names the row) and how to stream it.
func LogNotKeyOrdered(env *Env, job Job, err error) {
	env.Log.Info("rendering through a snapshot instead of streaming (ORDER BY the key columns, COLLATE \"C\" for text, to stream)",
		"job_id", job.ID, "reason", err.Error())
}
