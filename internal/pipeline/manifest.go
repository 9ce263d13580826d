package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/countydatasync/countysync/internal/storage"
)

// Manifests live under manifestsDir in two layouts (docs/ARCHITECTURE.md,
// Report and manifest):
//
//   - manifests/<job>.json, the job's manifest: the report, claimed when
//     the job starts and written whole when it ends;
//   - manifests/<job>/<dataset>.json, a dataset's manifest, written by the
//     dataset's Publish before its watermark moves.
//
// A dataset's Publish writes only its own file, so datasets publishing at
// once never overwrite each other's entry, and the record the watermark
// relies on is in storage even if the job never ends. Jobs published
// before the per-dataset files existed have only the job's manifest;
// every reader takes both.
const manifestsDir = "manifests/"

// maxManifestBytes bounds how much of a manifest a reader takes.
const maxManifestBytes = 64 << 20

// ManifestKey is the storage key of a job's manifest.
func ManifestKey(jobID string) string { return manifestsDir + jobID + ".json" }

// DatasetManifestKey is the storage key of a dataset's manifest in a job.
func DatasetManifestKey(jobID, dataset string) string {
	return manifestsDir + jobID + "/" + dataset + ".json"
}

// ParseManifestKey tells a job's manifest (dataset "") from a dataset's
// manifest; ok is false for any other key.
func ParseManifestKey(key string) (jobID, dataset string, ok bool) {
	rest, ok := strings.CutPrefix(key, manifestsDir)
	if !ok {
		return "", "", false
	}
	rest, ok = strings.CutSuffix(rest, ".json")
	if !ok {
		return "", "", false
	}
	jobID, dataset, nested := strings.Cut(rest, "/")
	if _, err := ParseJob(jobID); err != nil || strings.Contains(dataset, "/") || (nested && dataset == "") {
		return "", "", false
	}
	return jobID, dataset, true
}

// Manifest is what readers take from a manifest of either layout: the
// job, its status (a job's manifest only) and the results of the datasets
// it names.
type Manifest struct {
	JobID    string                    `json:"job_id"`
	Status   string                    `json:"status,omitempty"`
	Datasets map[string]*DatasetResult `json:"datasets"`
	// Runner is what the first manifest of the job, written when it
	// started, says runs it (RunnerEmbedded, RunnerDistributed; empty
	// for manifests written before they said).
	Runner string `json:"runner,omitempty"`
}

// final reports whether m is a job's manifest written when the job ended.
func (m *Manifest) final() bool { return m.Status == StatusSucceeded || m.Status == StatusFailed }

// datasetManifest is the document of manifests/<job>/<dataset>.json. Its
// datasets object has the one dataset, as in the job's manifest, so one
// reader takes both.
type datasetManifest struct {
	JobID     string                    `json:"job_id"`
	Dataset   string                    `json:"dataset"`
	Published time.Time                 `json:"published_at"`
	Datasets  map[string]*DatasetResult `json:"datasets"`
}

// PutManifest writes the report as the job's manifest.
func PutManifest(ctx context.Context, env *Env, r *Report) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return env.Store.PutBytes(ctx, ManifestKey(r.JobID), append(data, '\n'))
}

// putDatasetManifest writes res as the dataset's manifest in job id.
func putDatasetManifest(ctx context.Context, env *Env, id string, res *DatasetResult) error {
	doc := datasetManifest{JobID: id, Dataset: res.Name, Published: env.now().UTC(),
		Datasets: map[string]*DatasetResult{res.Name: res}}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return env.Store.PutBytes(ctx, DatasetManifestKey(id, res.Name), append(data, '\n'))
}

// ReadManifest reads the manifest under key, of either layout.
func ReadManifest(ctx context.Context, store storage.Store, key string) (*Manifest, error) {
	rc, err := store.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxManifestBytes))
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", key, err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", key, err)
	}
	if m.Datasets == nil {
		m.Datasets = map[string]*DatasetResult{}
	}
	return &m, nil
}

// ManifestKeys lists the keys of every manifest in store, of both
// layouts, by job, oldest job first (job ids sort by time).
func ManifestKeys(ctx context.Context, store storage.Store) ([]JobManifestKeys, error) {
	keys, err := store.List(ctx, manifestsDir)
	if err != nil {
		return nil, err
	}
	var out []JobManifestKeys
	index := map[string]int{}
	for _, key := range keys {
		id, dataset, ok := ParseManifestKey(key)
		if !ok {
			continue
		}
		i, seen := index[id]
		if !seen {
			i = len(out)
			index[id] = i
			out = append(out, JobManifestKeys{JobID: id})
		}
		if dataset == "" {
			out[i].Job = key
		} else {
			out[i].Datasets = append(out[i].Datasets, key)
		}
	}
	slices.SortFunc(out, func(a, b JobManifestKeys) int { return strings.Compare(a.JobID, b.JobID) })
	return out, nil
}

// JobManifestKeys are the manifests of one job: the job's own (empty if
// it has none) and its datasets'.
type JobManifestKeys struct {
	JobID    string
	Job      string
	Datasets []string
}

// Read reads the job's manifests into one Manifest with every dataset
// they name, or only dataset when it is not empty. The job's final
// manifest, written from the job records when the job ended, wins; before
// that, a dataset's own manifest wins over the job's (which then is the
// claim written at the start, or one written before datasets had their
// own). A manifest that cannot be read or parsed is skipped with a
// warning unless strict, when it is an error.
func (k JobManifestKeys) Read(ctx context.Context, store storage.Store, log *slog.Logger, dataset string, strict bool) (*Manifest, error) {
	out := &Manifest{JobID: k.JobID, Datasets: map[string]*DatasetResult{}}
	read := func(key, only string) (*Manifest, error) {
		m, err := ReadManifest(ctx, store, key)
		if err != nil {
			if strict {
				return nil, err
			}
			log.Warn("skipping unreadable manifest", "key", key, "error", err)
			return nil, nil
		}
		for name, res := range m.Datasets {
			if res == nil || (only != "" && name != only) || (dataset != "" && name != dataset) {
				continue
			}
			if _, have := out.Datasets[name]; !have || !out.final() {
				out.Datasets[name] = res
			}
		}
		return m, nil
	}
	if k.Job != "" {
		m, err := read(k.Job, "")
		if err != nil {
			return nil, err
		}
		if m != nil {
			out.Status = m.Status
		}
	}
	for _, key := range k.Datasets {
		_, name, _ := ParseManifestKey(key)
		if dataset != "" && name != dataset {
			continue
		}
		if _, err := read(key, name); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ReadManifests reads every manifest in store and returns one Manifest per
// job, oldest first (see JobManifestKeys.Read).
func ReadManifests(ctx context.Context, store storage.Store, log *slog.Logger, strict bool) ([]*Manifest, error) {
	jobs, err := ManifestKeys(ctx, store)
	if err != nil {
		return nil, err
	}
	out := make([]*Manifest, 0, len(jobs))
	for _, k := range jobs {
		m, err := k.Read(ctx, store, log, "", strict)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
