package pipeline

import (
	"context"
	"fmt"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/format/snapshot"
	"github.com/countydatasync/countysync/internal/record"
)

// renderSnapshot renders the snapshot at snapPath into formats (one pass,
// every format fed the same rows) and publishes each file under its
// timestamped name. The latest names do not move: that is Publish's job,
// once every format of the dataset is written. Warnings about the rows
// (unparsable geometry, non-finite floats) are returned for the report.
// An existing file of the same name, this job's own from a step that died
// after uploading it, is replaced.
func renderSnapshot(ctx context.Context, env *Env, job Job, d *config.Dataset, opts Options, snapPath string, formats []string) ([]*Artifact, *Warnings, error) {
	rd, err := snapshot.Open(ctx, snapPath)
	if err != nil {
		return nil, nil, fmt.Errorf("dataset %s: %w", d.Name, err)
	}
	defer rd.Close()
	w := &Warnings{}
	st, err := newStage(d, rd.Schema(), opts.Strict, w, false)
	if err != nil {
		return nil, nil, err
	}
	exp, err := renderRows(ctx, env, job, d, rd, st, formats, nil)
	if err != nil {
		return nil, nil, err
	}
	return exp.artifacts, w, nil
}

// renderRows is the one rendering pass of renderSnapshot and stream: it feeds rows
// through st into every format at once (before, if set, sees each row
// first and may stop the pass), then publishes each file under its
// timestamped name. On error nothing stays published.
func renderRows(ctx context.Context, env *Env, job Job, d *config.Dataset, rows rowReader, st *stage,
	formats []string, before func(record.Row) error) (*exporter, error) {
	start := env.now()
	st.renderWKTFor(formats)
	st.lonLatFor(formats)
	defer st.releaseCRS()
	exp, err := newExporter(env.Store, job, d, st.schema, formats)
	if err != nil {
		return nil, err
	}
	defer exp.abort()
	for rows.Next() {
		row := rows.Row()
		if before != nil {
			if err := before(row); err != nil {
				return nil, err
			}
		}
		if err := renderRow(env, exp, st, row); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dataset %s: %w", d.Name, err)
	}
	if err := st.checkGeometryColumn(); err != nil {
		return nil, err
	}
	if err := exp.finish(); err != nil {
		return nil, fmt.Errorf("dataset %s: %w", d.Name, err)
	}
	rendered := env.now()
	if err := exp.upload(ctx, env.Store); err != nil {
		return nil, fmt.Errorf("dataset %s: %w", d.Name, err)
	}
	env.Log.Debug("export timings", "job_id", job.ID, "dataset", d.Name, "formats", formats,
		"render_seconds", roundSeconds(rendered.Sub(start).Seconds()), "upload_seconds", roundSeconds(env.now().Sub(rendered).Seconds()))
	return exp, nil
}

// rowReader is what renderRows reads: a query's rows (source.Rows) or a
// snapshot's (snapshot.Reader).
type rowReader interface {
	Next() bool
	Row() record.Row
	Err() error
}

// renderRow decodes the row's geometry, checks its values and writes it
// into every format.
func renderRow(env *Env, exp *exporter, st *stage, row record.Row) error {
	if err := st.prepare(row); err != nil {
		return err
	}
	if err := exp.write(row); err != nil {
		return fmt.Errorf("dataset %s, %s: %w", st.dataset, st.key(row), err)
	}
	env.Progress.Add(1)
	return nil
}
