package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/countydatasync/countysync/internal/storage"
)

// JobIDLayout formats the time part of job ids and artifact names (UTC).
const JobIDLayout = "20060102_150405"

// Job identifies one run over some datasets.
type Job struct {
	// ID is "etl_<YYYYMMDD>_<HHMMSS>".
	ID string
	// Stamp is the "<YYYYMMDD>_<HHMMSS>" part, used in artifact names.
	Stamp string
	// Start is when the job started.
	Start time.Time
}

// NewJob returns the job for start time t.
func NewJob(t time.Time) Job {
	t = t.UTC()
	stamp := t.Format(JobIDLayout)
	return Job{ID: "etl_" + stamp, Stamp: stamp, Start: t}
}

// ManifestKey is the storage key of a job's manifest.
func ManifestKey(jobID string) string { return "manifests/" + jobID + ".json" }

// ClaimJob picks a job id that no other run on store has used, by creating
// its manifest exclusively. If another run took this second's id, it waits
// for the next second: names are per second and two runs must never share
// them (DESIGN.md §5).
func ClaimJob(ctx context.Context, store storage.Store, now func() time.Time) (Job, error) {
	for attempt := 0; attempt < 10; attempt++ {
		job := NewJob(now())
		tmp, err := os.CreateTemp(store.WorkDir(), "claim-*")
		if err != nil {
			return Job{}, fmt.Errorf("claim job id: %w", err)
		}
		fmt.Fprintf(tmp, "{\"job_id\": %q, \"status\": \"running\"}\n", job.ID)
		tmp.Close()
		err = store.Put(ctx, ManifestKey(job.ID), tmp.Name(), true)
		os.Remove(tmp.Name())
		if err == nil {
			return job, nil
		}
		if !errors.Is(err, storage.ErrExists) {
			return Job{}, fmt.Errorf("claim job id: %w", err)
		}
		wait := job.Start.Truncate(time.Second).Add(time.Second).Sub(now())
		select {
		case <-ctx.Done():
			return Job{}, ctx.Err()
		case <-time.After(max(wait, 50*time.Millisecond)):
		}
	}
	return Job{}, errors.New("claim job id: every id was taken for 10 seconds")
}
