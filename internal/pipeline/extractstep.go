package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
)

// Extract is a dataset's first step: it takes the dataset's lock for the
// job (waiting up to state.lock_wait while another run holds it) and reads
// the source. A full run of a dataset without incremental streams the rows
// straight into every format (nothing is left to render); otherwise, or
// when the source cannot sort the rows by key, the rows are merged into a
// snapshot that is stored for the Render step. The extraction and any
// rendered artifacts are recorded together, and the lock is kept for the
// job's next step. A retry that finds the extraction recorded does
// nothing again.
func Extract(ctx context.Context, env *Env, job Job, dataset string) (_ Next, err error) {
	defer recoverStep(env, job, dataset, "extract", &err)
	s, err := openStep(ctx, env, job, dataset)
	if err != nil {
		return Next{}, err
	}
	if done, err := s.finished(ctx); err != nil || done {
		return Next{}, err
	}
	fan, err := readFanIn(ctx, env.Jobs, job.ID, dataset, s.formats)
	if err != nil {
		return Next{}, err
	}
	if fan.ext != nil {
		return s.next(fan), nil
	}
	lock, err := s.lockUnlessFinished(ctx, env.Config.State.LockWait.D())
	if err != nil || lock == nil {
		return Next{}, err
	}
	keep := false
	defer func() {
		if keep {
			s.handOn(ctx, lock)
		} else {
			_ = lock.Release(context.WithoutCancel(ctx))
		}
	}()
	docs, err := s.extract(ctx)
	if err != nil {
		return Next{}, err
	}
	if fan, err = addFanIn(ctx, env.Jobs, job.ID, dataset, docs, s.formats); err != nil {
		return Next{}, err
	}
	keep = true
	return s.next(fan), nil
}

// extract reads the dataset, once, and returns its fan-in records: the
// extraction and the artifacts rendered while streaming.
func (s *datasetStep) extract(ctx context.Context) (map[string][]byte, error) {
	env, d, job := s.env, s.d, s.job
	started := env.now()
	ext, cursor, rows, err := openRead(ctx, env, d, s.opts)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	streaming := canStream(d, ext, rows)
	env.Log.Info("extracting", "job_id", job.ID, "dataset", d.Name, "mode", ext.Mode, "streaming", streaming)
	if !streaming && d.Incremental == nil && len(d.KeyColumns) > 0 {
		env.Log.Info("rendering through a snapshot: the source cannot sort the rows by the key columns (integer, boolean, text or uuid keys, not written by a transformation, stream)",
			"job_id", job.ID, "dataset", d.Name, "key_columns", d.KeyColumns)
	}
	docs := map[string][]byte{}
	if streaming {
		arts, w, err := stream(ctx, env, job, d, s.opts, s.formats, ext, rows)
		if err != nil {
			return nil, err
		}
		docs = renderedRecords(s.formats, arts, w, 0)
	} else {
		tmp := s.tempSnapshotPath()
		defer os.Remove(tmp)
		t0 := env.now()
		if err := extractSnapshot(ctx, env, d, s.opts, ext, cursor, rows, tmp); err != nil {
			return nil, err
		}
		ext.ExtractSeconds = roundSeconds(env.now().Sub(t0).Seconds())
		key := SnapshotKey(d.Name, job.ID)
		if err := putCopy(ctx, env.Store, key, tmp); err != nil {
			return nil, fmt.Errorf("dataset %s: store snapshot: %w", d.Name, err)
		}
		if env.Snapshots != nil {
			env.Snapshots.adopt(key, tmp)
		}
	}
	ext.Started = started
	if docs[extractionMember], err = json.Marshal(ext); err != nil {
		return nil, err
	}
	return docs, nil
}
