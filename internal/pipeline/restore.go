package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/countydatasync/countysync/internal/state"
	"github.com/countydatasync/countysync/internal/storage"
)

// restoreWatermark finds the newest manifest in which the dataset was
// published with a watermark whose snapshot still exists, and returns that
// watermark (nil if there is none). It is how a state store that lost its
// data (a Redis without persistence, a deleted state file) recovers
// without re-publishing or losing rows. It reads both manifest layouts
// (see manifest.go): per job, the dataset's own manifest and the job's.
func restoreWatermark(ctx context.Context, env *Env, dataset string) (*state.Watermark, error) {
	jobs, err := ManifestKeys(ctx, env.Store)
	if err != nil {
		return nil, err
	}
	slices.Reverse(jobs)
	for _, k := range jobs {
		m, err := k.Read(ctx, env.Store, env.Log, dataset, false)
		if err != nil {
			return nil, err
		}
		res := m.Datasets[dataset]
		if res == nil || !res.Success || res.WatermarkAfter == nil || res.Snapshot == "" {
			continue
		}
		rc, err := env.Store.Open(ctx, res.Snapshot)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		rc.Close()
		return &state.Watermark{Cursor: *res.WatermarkAfter, JobID: m.JobID, Snapshot: res.Snapshot, Rows: res.Records}, nil
	}
	return nil, nil
}

// checkSnapshot returns wm if its snapshot exists. A watermark whose
// snapshot is gone is one the state store went back to: a Redis failover
// or restore lost the write that moved it on, and the publish that made
// that write then deleted this snapshot. The manifests still record the
// newer watermark, so it is restored from them (the compare-and-set stays
// on wm's job, what the store holds). If they have nothing newer, wm is
// returned and the run fails reading the snapshot, asking for --full.
func checkSnapshot(ctx context.Context, env *Env, dataset string, wm *state.Watermark) (*state.Watermark, error) {
	rc, err := env.Store.Open(ctx, wm.Snapshot)
	if err == nil {
		rc.Close()
		return wm, nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("dataset %s: previous snapshot %s: %w", dataset, wm.Snapshot, err)
	}
	newer, err := restoreWatermark(ctx, env, dataset)
	if err != nil || newer == nil || newer.JobID <= wm.JobID {
		return wm, nil
	}
	env.Log.Warn("the watermark's snapshot is gone (the state store lost a later watermark); restored from the newest manifest",
		"dataset", dataset, "state_job", wm.JobID, "manifest_job", newer.JobID, "watermark", newer.Cursor.Value)
	return newer, nil
}
