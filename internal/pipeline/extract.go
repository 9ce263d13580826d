package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/format/snapshot"
	"github.com/countydatasync/countysync/internal/record"
	"github.com/countydatasync/countysync/internal/source"
	"github.com/countydatasync/countysync/internal/state"
	"github.com/countydatasync/countysync/internal/storage"
)

// Extraction is what the extract step did to one dataset. It is the input
// of render and publish, kept in the dataset's fan-in in the job records.
type Extraction struct {
	Dataset string `json:"dataset"`
	// Mode is "full" or "incremental".
	Mode      string `json:"mode"`
	RowsRead  int64  `json:"rows_read"`
	Records   int64  `json:"records"`
	Inserted  int64  `json:"inserted"`
	Updated   int64  `json:"updated"`
	Deleted   int64  `json:"deleted"`
	Unchanged int64  `json:"unchanged"`
	// StateJob is the job of the watermark in the state store when the
	// run started ("" if none): the compare-and-set of publish expects it.
	StateJob string `json:"state_job"`
	// PrevSnapshot is the snapshot the run merged into, deleted after
	// publish.
	PrevSnapshot    string        `json:"prev_snapshot,omitempty"`
	WatermarkBefore *state.Cursor `json:"watermark_before,omitempty"`
	WatermarkAfter  *state.Cursor `json:"watermark_after,omitempty"`
	WatermarkCap    *WatermarkCap `json:"watermark_cap,omitempty"`
	WarningCount    int64         `json:"warning_count"`
	Warnings        []string      `json:"warnings,omitempty"`
	// Streamed is true when the rows went straight into the files: there
	// is no snapshot.
	Streamed bool `json:"streamed,omitempty"`
	// Started is when the extract step began: the dataset's duration
	// counts from there.
	Started time.Time `json:"started,omitzero"`
	// ExtractSeconds is the time spent reading the source into the
	// snapshot (0 when the rows streamed straight into the files).
	ExtractSeconds float64 `json:"extract_seconds,omitempty"`
	// FullReason says why an incremental dataset ran full.
	FullReason string `json:"full_reason,omitempty"`
	// SchemaChanges lists how the query's columns differ from the
	// previous snapshot's, when that made the run full.
	SchemaChanges []string `json:"schema_changes,omitempty"`
	// KeysChecked is true when the source's keys were compared with the
	// snapshot's (incremental.deletes: keys); Deleted counts the keys
	// found gone.
	KeysChecked bool `json:"keys_checked,omitempty"`
}

// planExtraction reads the dataset's watermark (restoring it from the newest
// manifest when the state store lost it) and decides the run's mode.
func planExtraction(ctx context.Context, env *Env, d *config.Dataset, opts Options) (*Extraction, *state.Watermark, record.Value, error) {
	ext := &Extraction{Dataset: d.Name, Mode: ModeFull}
	var cursor record.Value
	if d.Incremental == nil {
		return ext, nil, cursor, nil
	}
	wm, err := env.State.Get(ctx, d.Name)
	if err != nil {
		return nil, nil, cursor, fmt.Errorf("dataset %s: read watermark: %w", d.Name, err)
	}
	if wm != nil {
		ext.StateJob = wm.JobID
	}
	if opts.Full {
		if wm != nil {
			ext.PrevSnapshot = wm.Snapshot
		}
		ext.FullReason = "--full"
		return ext, wm, cursor, nil
	}
	if wm == nil {
		if wm, err = restoreWatermark(ctx, env, d.Name); err != nil {
			env.Log.Warn("could not restore the watermark from manifests; running full", "dataset", d.Name, "error", err)
			wm = nil
		} else if wm != nil {
			env.Log.Warn("watermark missing from the state store; restored from the newest manifest",
				"dataset", d.Name, "manifest_job", wm.JobID, "watermark", wm.Cursor.Value)
		}
	}
	if wm == nil || wm.Snapshot == "" {
		ext.FullReason = "no watermark: the first run, or after watermark reset"
		return ext, wm, cursor, nil
	}
	if wm, err = checkSnapshot(ctx, env, d.Name, wm); err != nil {
		return nil, nil, cursor, err
	}
	if cursor, err = wm.Cursor.Decode(); err != nil {
		return nil, nil, cursor, fmt.Errorf("dataset %s: watermark: %w", d.Name, err)
	}
	before := wm.Cursor
	ext.WatermarkBefore = &before
	ext.PrevSnapshot = wm.Snapshot
	ext.Mode = ModeIncremental
	return ext, wm, cursor, nil
}

// extractSnapshot merges the rows of the dataset's query (opened by
// openRead: from the watermark minus the lookback when incremental) into a
// snapshot written at snapPath (a copy of the previous snapshot for
// incremental runs, a new one otherwise), applying the transformations.
// An incremental run whose query no longer has the snapshot's columns runs
// full under schema: evolve (the source is then read again, full) and
// fails under schema: freeze. The caller holds the dataset's lock and
// closes rows. Nothing is published: the watermark and the files stay as
// they were until Publish.
func extractSnapshot(ctx context.Context, env *Env, d *config.Dataset, opts Options, ext *Extraction, cursor record.Value,
	rows source.Rows, snapPath string) error {
	var prev *snapshot.Info
	if ext.Mode == ModeIncremental {
		if err := fetch(ctx, env.Store, ext.PrevSnapshot, snapPath); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return fmt.Errorf("dataset %s: previous snapshot: %w (run with --full to rebuild)", d.Name, err)
			}
			// A full disk or a storage outage: --full would not help.
			return fmt.Errorf("dataset %s: copy the previous snapshot to %s: %w", d.Name, env.Store.WorkDir(), err)
		}
		var err error
		if prev, err = snapshot.Stat(ctx, snapPath); err != nil {
			return permanent(fmt.Errorf("dataset %s: previous snapshot: %w (run with --full to rebuild)", d.Name, err))
		}
	}
	for {
		done, err := extractOnce(ctx, env, d, opts, ext, prev, cursor, rows, snapPath)
		if err != nil || done {
			return err
		}
		// The schema changed: ext is a full run now; read again, full,
		// into a new snapshot.
		prev = nil
		if err := os.Remove(snapPath); err != nil {
			return fmt.Errorf("dataset %s: %w", d.Name, err)
		}
		env.Log.Info("extracting", "dataset", d.Name, "mode", ext.Mode, "reason", ext.FullReason)
		if rows, err = query(ctx, env, d, ext, cursor); err != nil {
			return err
		}
		defer rows.Close()
	}
}

// extractOnce merges rows into the snapshot. done is false, with nothing
// merged, when the query's columns differ from the previous snapshot's
// under schema: evolve: ext is then a full run.
func extractOnce(ctx context.Context, env *Env, d *config.Dataset, opts Options, ext *Extraction,
	prev *snapshot.Info, cursor record.Value, rows source.Rows, snapPath string) (done bool, err error) {
	var w Warnings
	st, err := newStage(d, rows.Schema(), opts.Strict, &w, true)
	if err != nil {
		return false, err
	}
	if prev != nil {
		if evolve, err := schemaPolicy(env, d, ext, prev, st.schema); err != nil || evolve {
			return false, err
		}
	}
	st.cursors = newCursorGuard(env, d, rows.Horizon(), &w)
	var keys source.Rows
	if deletesDue(env, d, ext, prev) {
		// Started right after the query, so both read the table at
		// (nearly) the same moment; see docs/ARCHITECTURE.md, Incremental
		// runs.
		if keys, err = queryKeys(ctx, env, d, st.schema); err != nil {
			return false, err
		}
		defer keys.Close()
	}
	if err := merge(ctx, env, d, ext, cursor, rows, keys, st, snapPath); err != nil {
		return false, err
	}
	capWatermark(env, d, ext, rows.Horizon(), &w)
	ext.WarningCount, ext.Warnings = w.Count(), w.Messages()
	env.Log.Info("extracted", "dataset", d.Name, "records", ext.Records, "rows_read", ext.RowsRead, "deleted", ext.Deleted)
	return true, nil
}

// openRead plans the dataset's run and starts its one read of the source:
// the incremental filter, if any, rows in key order where the source can
// sort them (see sourceOrder), and the transaction horizon for datasets
// with a watermark.
func openRead(ctx context.Context, env *Env, d *config.Dataset, opts Options) (*Extraction, record.Value, source.Rows, error) {
	ext, _, cursor, err := planExtraction(ctx, env, d, opts)
	if err != nil {
		return nil, cursor, nil, err
	}
	rows, err := query(ctx, env, d, ext, cursor)
	if err != nil {
		return nil, cursor, nil, err
	}
	return ext, cursor, rows, nil
}

// query starts the dataset's query with the incremental filter, if any.
func query(ctx context.Context, env *Env, d *config.Dataset, ext *Extraction, cursor record.Value) (source.Rows, error) {
	filter := &source.Filter{OrderBy: sourceOrder(d), Horizon: d.Incremental != nil}
	if ext.Mode == ModeIncremental {
		filter.Column = d.Incremental.Column
		filter.Min = filterMin(d, cursor)
		filter.Nulls = source.NullCursor(d.Incremental.NullCursor)
	}
	rows, err := env.Source.Query(ctx, d.Query, filter)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", d.Name, err)
	}
	return rows, nil
}

// filterMin is the lowest cursor an incremental query reads.
func filterMin(d *config.Dataset, cursor record.Value) record.Value {
	return state.Lookback(cursor, d.Incremental.Lookback.D())
}

// snapshotOptions says how the dataset's snapshot identifies rows.
func snapshotOptions(d *config.Dataset) snapshot.Options {
	o := snapshot.Options{Keys: d.KeyColumns}
	if d.Incremental != nil && len(d.KeyColumns) == 0 {
		o.Cursor = d.Incremental.Column
	}
	return o
}

// merge reads the query's rows into the snapshot at snapPath (the previous
// snapshot's copy when incremental). With keys (the keys-only query of
// incremental.deletes: keys), the keys the source no longer holds are
// removed first.
func merge(ctx context.Context, env *Env, d *config.Dataset, ext *Extraction, cursor record.Value,
	rows source.Rows, keys source.Rows, st *stage, snapPath string) error {
	in := rows.Schema()
	cursorIdx, deletedIdx := -1, -1
	var err error
	if d.Incremental != nil {
		if cursorIdx, err = in.MustIndex(d.Incremental.Column); err != nil {
			return fmt.Errorf("dataset %s: incremental.column: %w", d.Name, err)
		}
		if d.Incremental.DeletedColumn != "" {
			if deletedIdx, err = in.MustIndex(d.Incremental.DeletedColumn); err != nil {
				return fmt.Errorf("dataset %s: incremental.deleted_column: %w", d.Name, err)
			}
		}
	}
	var sw *snapshot.Writer
	if ext.Mode == ModeIncremental {
		sw, err = snapshot.Merge(ctx, snapPath, d.Name, st.schema, snapshotOptions(d))
	} else {
		sw, err = snapshot.Create(ctx, snapPath, d.Name, st.schema, snapshotOptions(d))
	}
	if err != nil {
		return permanent(err)
	}
	committed := false
	defer func() {
		if !committed {
			sw.Abort()
		}
	}()
	if d.Incremental != nil && d.Incremental.Deletes == "keys" && ext.Mode == ModeFull {
		// A full run holds every key: it is a comparison too.
		if err := sw.SetDeletesChecked(ctx, env.now()); err != nil {
			return err
		}
	}
	if keys != nil {
		if err := deleteMissing(ctx, env, d, ext, sw, keys); err != nil {
			return err
		}
	}
	if ext.Mode == ModeIncremental && len(d.KeyColumns) == 0 {
		if err := sw.Replace(ctx, filterMin(d, cursor), d.Incremental.NullCursor == string(source.NullInclude)); err != nil {
			return fmt.Errorf("dataset %s: %w", d.Name, err)
		}
	}
	cur := cursor
	for rows.Next() {
		row := rows.Row()
		ext.RowsRead++
		if cursorIdx >= 0 {
			if cur, err = advanceCursor(d, cur, row[cursorIdx], st, row); err != nil {
				return err
			}
		}
		deleted := deletedIdx >= 0 && truthy(row[deletedIdx])
		if err := st.transform(row); err != nil {
			return err
		}
		if deleted {
			if ext.Mode == ModeIncremental {
				gone, err := sw.Delete(ctx, row)
				if err != nil {
					return permanent(fmt.Errorf("dataset %s, %s: %w", d.Name, st.key(row), err))
				}
				if gone {
					ext.Deleted++
				}
			}
			continue
		}
		change, err := sw.Put(ctx, row)
		if err != nil {
			return permanent(fmt.Errorf("dataset %s, %s: %w", d.Name, st.key(row), err))
		}
		switch change {
		case snapshot.Inserted:
			ext.Inserted++
		case snapshot.Updated:
			ext.Updated++
		case snapshot.Unchanged:
			ext.Unchanged++
		}
		env.Progress.Add(1)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("dataset %s: %w", d.Name, err)
	}
	committed = true
	if err := sw.Commit(); err != nil {
		return err
	}
	ext.Deleted += sw.Replaced()
	if ext.Records, err = snapshot.Count(ctx, snapPath); err != nil {
		return fmt.Errorf("dataset %s: %w", d.Name, err)
	}
	if d.Incremental != nil {
		c, err := state.EncodeCursor(cur)
		if err != nil {
			return fmt.Errorf("dataset %s: %w", d.Name, err)
		}
		ext.WatermarkAfter = &c
	}
	return nil
}

// advanceCursor returns the larger of the run's cursor and the row's.
func advanceCursor(d *config.Dataset, cur, c record.Value, st *stage, row record.Row) (record.Value, error) {
	if c.Kind == record.Null {
		if d.Incremental.NullCursor == string(source.NullError) {
			return cur, fmt.Errorf("dataset %s, %s: cursor column %s is NULL (incremental.null_cursor: error)",
				d.Name, st.key(row), d.Incremental.Column)
		}
		return cur, nil
	}
	if _, err := state.EncodeCursor(c); err != nil {
		return cur, fmt.Errorf("dataset %s: incremental.column %s: %w", d.Name, d.Incremental.Column, err)
	}
	if cur.Kind != record.Null && cur.Kind != c.Kind {
		return cur, fmt.Errorf("dataset %s: cursor column %s is %s now but the watermark is %s; run with --full",
			d.Name, d.Incremental.Column, c.Kind, cur.Kind)
	}
	if !st.cursors.sane(c, st, row) {
		return cur, nil
	}
	if cur.Kind == record.Null || state.Less(cur, c) {
		c.B = nil
		return c, nil
	}
	return cur, nil
}

func truthy(v record.Value) bool {
	switch v.Kind {
	case record.Bool, record.Int:
		return v.I != 0
	case record.Text:
		return slices.Contains([]string{"t", "true", "y", "yes", "1"}, v.S)
	}
	return false
}
