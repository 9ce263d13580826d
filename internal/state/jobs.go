package state

import (
	"context"
	"errors"
)

// Jobs keeps the records of running and recent jobs, the coordination
// state of one job's steps: a document per job, a result document per
// finished dataset and, per dataset, the records its steps produced so far
// (the extraction, and one per rendered format), which is the dataset's
// fan-in. It stores bytes; the pipeline owns their shapes.
//
// Two implementations: memory (in-process, for the embedded runner) and
// redis (shared by workers). Both pass statetest.RunJobs.
type Jobs interface {
	// CreateJob stores doc as job id's document if the id has none, and
	// reports whether it did: job ids are claimed this way.
	CreateJob(ctx context.Context, id string, doc []byte) (bool, error)
	// PutJob replaces job id's document. It fails with an error wrapping
	// ErrJobNotFound if the job has none.
	PutJob(ctx context.Context, id string, doc []byte) error
	// GetJob returns job id's document, or an error wrapping
	// ErrJobNotFound.
	GetJob(ctx context.Context, id string) ([]byte, error)
	// ListJobs returns up to limit job ids (all if limit <= 0), newest
	// first.
	ListJobs(ctx context.Context, limit int) ([]string, error)
	// PutDatasetResult stores the result document of dataset in job jobID,
	// replacing any earlier one.
	PutDatasetResult(ctx context.Context, jobID, dataset string, doc []byte) error
	// DatasetResults returns the result documents of job jobID by dataset.
	DatasetResults(ctx context.Context, jobID string) (map[string][]byte, error)
	// PutArtifacts adds the records docs (by member name) to the
	// dataset's fan-in, all of them or none, replacing members of the same
	// name, and returns every record the dataset has afterwards.
	PutArtifacts(ctx context.Context, jobID, dataset string, docs map[string][]byte) (map[string][]byte, error)
	// Artifacts returns the records of dataset in job jobID by member
	// name (empty if there are none).
	Artifacts(ctx context.Context, jobID, dataset string) (map[string][]byte, error)
}

// ErrJobNotFound means there is no record of the job (never created, or
// expired).
var ErrJobNotFound = errors.New("job not found")
