package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/countydatasync/countysync/internal/state"
)

// ErrTaskLost marks the failure of a dataset whose runner lost its work:
// no step of it is queued, running or due any more (a queue task deleted
// by hand, or archived without its worker's failure handler running). Fail
// records it like any other failure, so the job ends instead of waiting
// for ever.
var ErrTaskLost = errors.New("its task was deleted or lost")

// Unfinished is a dataset that a running job still waits for: it has no
// result yet, or (Dataset has a result) the job has not ended although
// every dataset has one. Progress counts what its steps recorded so far;
// a runner that checks twice compares it to see that nothing moved.
type Unfinished struct {
	Job      Job
	Dataset  string
	Progress int
}

// ListUnfinished lists what the newest limit jobs in jobs still wait for.
// Runners use it to find work that nothing will finish: for each entry
// with no step queued or running, twice some seconds apart with the same
// Progress, they call Fail with ErrTaskLost.
func ListUnfinished(ctx context.Context, jobs state.Jobs, limit int) ([]Unfinished, error) {
	ids, err := jobs.ListJobs(ctx, limit)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	var out []Unfinished
	for _, id := range ids {
		rec, err := LoadJob(ctx, jobs, id)
		if errors.Is(err, state.ErrJobNotFound) {
			continue // expired between the list and the read
		}
		if err != nil {
			return nil, err
		}
		if rec.Ended() {
			continue
		}
		res, err := results(ctx, jobs, id)
		if err != nil {
			return nil, err
		}
		job := rec.Job()
		waiting := false
		for _, d := range rec.Datasets {
			if res[d] != nil {
				continue
			}
			waiting = true
			arts, err := jobs.Artifacts(ctx, id, d)
			if err != nil {
				return nil, fmt.Errorf("job %s, dataset %s: read records: %w", id, d, err)
			}
			out = append(out, Unfinished{Job: job, Dataset: d, Progress: len(arts)})
		}
		if !waiting && len(rec.Datasets) > 0 {
			// Every dataset has a result but the job did not end (its last
			// step failed to): Fail of any dataset ends it.
			out = append(out, Unfinished{Job: job, Dataset: rec.Datasets[len(rec.Datasets)-1], Progress: -1})
		}
	}
	return out, nil
}
