package memory

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/countydatasync/countysync/internal/state"
)

var _ state.Jobs = (*Jobs)(nil)

// Jobs is a state.Jobs in memory. It is safe for concurrent use; the zero
// value is not usable, NewJobs makes one.
type Jobs struct {
	mu   sync.Mutex
	seq  uint64
	jobs map[string]*job
}

type job struct {
	seq       uint64                       // creation order
	doc       []byte                       // nil until CreateJob (clone never returns nil)
	results   map[string][]byte            // dataset -> result
	artifacts map[string]map[string][]byte // dataset -> member -> record
}

// NewJobs returns an empty Jobs.
func NewJobs() *Jobs {
	return &Jobs{jobs: map[string]*job{}}
}

// jobOf returns job id's entry, creating an empty one (with no document,
// so not listed and not found by GetJob) for the records of a job that
// was never created. j.mu must be held.
func (j *Jobs) jobOf(id string) *job {
	jb := j.jobs[id]
	if jb == nil {
		jb = &job{}
		j.jobs[id] = jb
	}
	return jb
}

// CreateJob implements state.Jobs.
func (j *Jobs) CreateJob(ctx context.Context, id string, doc []byte) (bool, error) {
	if id == "" {
		return false, fmt.Errorf("create job: empty id")
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	jb := j.jobOf(id)
	if jb.doc != nil {
		return false, nil
	}
	j.seq++
	jb.seq, jb.doc = j.seq, clone(doc)
	return true, nil
}

// PutJob implements state.Jobs.
func (j *Jobs) PutJob(ctx context.Context, id string, doc []byte) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	jb := j.jobs[id]
	if jb == nil || jb.doc == nil {
		return fmt.Errorf("store job %s: %w", id, state.ErrJobNotFound)
	}
	jb.doc = clone(doc)
	return nil
}

// GetJob implements state.Jobs.
func (j *Jobs) GetJob(ctx context.Context, id string) ([]byte, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	jb := j.jobs[id]
	if jb == nil || jb.doc == nil {
		return nil, fmt.Errorf("job %s: %w", id, state.ErrJobNotFound)
	}
	return clone(jb.doc), nil
}

// ListJobs implements state.Jobs: newest first by order of creation.
func (j *Jobs) ListJobs(ctx context.Context, limit int) ([]string, error) {
	j.mu.Lock()
	ids := make([]string, 0, len(j.jobs))
	for id, jb := range j.jobs {
		if jb.doc != nil {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b string) int {
		// Newest (highest seq) first; seqs are unique.
		sa, sb := j.jobs[a].seq, j.jobs[b].seq
		switch {
		case sa > sb:
			return -1
		case sa < sb:
			return 1
		}
		return 0
	})
	j.mu.Unlock()
	if limit > 0 && len(ids) > limit {
		ids = ids[:limit]
	}
	return ids, nil
}

// PutDatasetResult implements state.Jobs.
func (j *Jobs) PutDatasetResult(ctx context.Context, jobID, dataset string, doc []byte) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	jb := j.jobOf(jobID)
	if jb.results == nil {
		jb.results = map[string][]byte{}
	}
	jb.results[dataset] = clone(doc)
	return nil
}

// DatasetResults implements state.Jobs.
func (j *Jobs) DatasetResults(ctx context.Context, jobID string) (map[string][]byte, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var m map[string][]byte
	if jb := j.jobs[jobID]; jb != nil {
		m = jb.results
	}
	return cloneMap(m), nil
}

// PutArtifacts implements state.Jobs. It fails if docs is empty.
func (j *Jobs) PutArtifacts(ctx context.Context, jobID, dataset string, docs map[string][]byte) (map[string][]byte, error) {
	if len(docs) == 0 {
		return nil, fmt.Errorf("store artifacts of %s in job %s: none given", dataset, jobID)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	jb := j.jobOf(jobID)
	if jb.artifacts == nil {
		jb.artifacts = map[string]map[string][]byte{}
	}
	recs := jb.artifacts[dataset]
	if recs == nil {
		recs = map[string][]byte{}
		jb.artifacts[dataset] = recs
	}
	for member, doc := range docs {
		recs[member] = clone(doc)
	}
	return cloneMap(recs), nil
}

// Artifacts implements state.Jobs.
func (j *Jobs) Artifacts(ctx context.Context, jobID, dataset string) (map[string][]byte, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var m map[string][]byte
	if jb := j.jobs[jobID]; jb != nil {
		m = jb.artifacts[dataset]
	}
	return cloneMap(m), nil
}

// clone returns a copy of b, never nil (a stored nil document reads back
// empty, as from Redis).
func clone(b []byte) []byte { return append([]byte{}, b...) }

func cloneMap(m map[string][]byte) map[string][]byte {
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		out[k] = clone(v)
	}
	return out
}
