package pipeline

import (
	"context"
	"regexp"
	"slices"
	"strings"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/format"
)

// stampRE matches the job stamp of a timestamped file name.
var stampRE = regexp.MustCompile(`^[0-9]{8}_[0-9]{6}$`)

// prune deletes the dataset's timestamped files beyond the newest keep
// (storage.keep) of each format it just published. It runs after the
// watermark moved, under the dataset's lock, and only warns when it
// fails: the run has succeeded. The files of this job are the newest, and
// the latest names point at them, so they always stay.
func prune(ctx context.Context, env *Env, job Job, d *config.Dataset, artifacts []*Artifact) {
	keep := env.Config.Storage.Keep
	if keep <= 0 {
		return
	}
	keys, err := env.Store.List(ctx, d.Name+"_")
	if err != nil {
		env.Log.Warn("storage.keep: cannot list old files", "job_id", job.ID, "dataset", d.Name, "error", err)
		return
	}
	for _, a := range artifacts {
		var stamps []string
		for _, k := range keys {
			if s, ok := stampOf(k, d.Name, a.Format); ok && s <= job.Stamp {
				stamps = append(stamps, s)
			}
		}
		slices.Sort(stamps)
		for i := 0; i < len(stamps)-keep; i++ {
			key := ArtifactKey(d.Name, stamps[i], a.Format)
			if key == a.Key {
				continue
			}
			if err := env.Store.Delete(ctx, key); err != nil {
				env.Log.Warn("storage.keep: cannot delete an old file", "job_id", job.ID, "dataset", d.Name, "key", key, "error", err)
				continue
			}
			env.Log.Debug("storage.keep: deleted an old file", "job_id", job.ID, "dataset", d.Name, "key", key)
		}
	}
}

// stampOf returns the job stamp of key if key is a timestamped file of
// dataset in format ("parcels_20250411_143042.csv"), and not, say, a file
// of a dataset whose name starts with dataset's.
func stampOf(key, dataset, formatName string) (string, bool) {
	rest, ok := strings.CutPrefix(key, dataset+"_")
	if !ok {
		return "", false
	}
	rest, ok = strings.CutSuffix(rest, "."+format.Ext(formatName))
	if !ok || !stampRE.MatchString(rest) {
		return "", false
	}
	return rest, true
}
