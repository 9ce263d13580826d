package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/countydatasync/countysync/internal/state"
	"github.com/countydatasync/countysync/internal/storage"
)

// restoreWatermark finds the newest manifest in which the dataset was
// published with a watermark whose snapshot still exists, and returns that
// watermark (nil if there is none). It is how a state store that lost its
// data (a Redis without persistence, a deleted state file) recovers
// without re-publishing or losing rows.
func restoreWatermark(ctx context.Context, env *Env, dataset string) (*state.Watermark, error) {
	keys, err := env.Store.List(ctx, "manifests/")
	if err != nil {
		return nil, err
	}
	slices.Reverse(keys) // job ids sort by time
	for _, key := range keys {
		if !strings.HasSuffix(key, ".json") {
			continue
		}
		m, err := readManifest(ctx, env.Store, key)
		if err != nil {
			env.Log.Warn("skipping unreadable manifest", "key", key, "error", err)
			continue
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

// manifestDoc is the part of a manifest that restoring reads.
type manifestDoc struct {
	JobID    string                    `json:"job_id"`
	Datasets map[string]*DatasetResult `json:"datasets"`
}

func readManifest(ctx context.Context, store storage.Store, key string) (*manifestDoc, error) {
	rc, err := store.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 64<<20))
	if err != nil {
		return nil, err
	}
	var m manifestDoc
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", key, err)
	}
	return &m, nil
}
