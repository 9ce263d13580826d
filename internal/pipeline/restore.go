package pipeline

import (
	"context"
	"errors"
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
