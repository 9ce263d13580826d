package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/format/snapshot"
	"github.com/countydatasync/countysync/internal/record"
)

// errNotKeyOrdered stops Stream at the first row whose key is not above
// the previous row's: the files would not be what a snapshot of the rows
// renders.
var errNotKeyOrdered = errors.New("rows are not in key order")

// stream runs a full run of a dataset without incremental in one pass:
// rows stream from the query through the transformations into every
// format at once, and each file is published under its timestamped name
// (not the latest name: that is Publish's). It is allowed when nothing is
// merged and the files are what a snapshot of the same rows renders (the
// rows arrive in key order): the source is read once, memory stays flat,
// and no snapshot is written or moved.
//
// streamed is false, with no error and nothing published, when the
// dataset cannot stream: it is incremental, or its rows do not come in the
// snapshot's key order (Stream logs the first row out of order and how to
// fix the query). The caller then extracts into a snapshot and renders
// that. The caller holds the dataset's lock.
func stream(ctx context.Context, env *Env, job Job, d *config.Dataset, opts Options, formats []string) (ext *Extraction, artifacts []*Artifact, w *Warnings, streamed bool, err error) {
	if d.Incremental != nil {
		return nil, nil, nil, false, nil
	}
	ext = &Extraction{Dataset: d.Name, Mode: ModeFull, Streamed: true}
	env.Log.Info("extracting", "job_id", job.ID, "dataset", d.Name, "mode", ext.Mode, "streaming", true)
	rows, err := query(ctx, env, d, ext, record.Value{})
	if err != nil {
		return nil, nil, nil, false, err
	}
	defer rows.Close()
	w = &Warnings{}
	st, err := newStage(d, rows.Schema(), opts.Strict, w, true)
	if err != nil {
		return nil, nil, nil, false, err
	}
	order, err := snapshot.NewKeyOrder(st.schema, d.KeyColumns)
	if err != nil {
		return nil, nil, nil, false, permanent(fmt.Errorf("dataset %s: %w", d.Name, err))
	}
	exp, err := renderRows(ctx, env, job, d, rows, st, formats, func(row record.Row) error {
		ext.RowsRead++
		if err := st.transform(row); err != nil {
			return err
		}
		if !order.Next(row) {
			return fmt.Errorf("dataset %s: row %d (%s): %w", d.Name, ext.RowsRead, st.key(row), errNotKeyOrdered)
		}
		return nil
	})
	if errors.Is(err, errNotKeyOrdered) {
		env.Progress.Add(1 - ext.RowsRead) // every row before this one was rendered
		env.Log.Info("rendering through a snapshot instead of streaming (ORDER BY the key columns, COLLATE \"C\" for text, to stream)",
			"job_id", job.ID, "reason", err.Error())
		return nil, nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, nil, false, err
	}
	ext.Records, ext.Inserted = exp.rows, exp.rows
	env.Log.Info("extracted", "job_id", job.ID, "dataset", d.Name, "records", ext.Records, "rows_read", ext.RowsRead)
	return ext, exp.artifacts, w, true, nil
}
