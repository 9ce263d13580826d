package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/countydatasync/countysync/internal/pipeline"
)

// JobStore is what the queue keeps in Redis about jobs (implemented by
// state/redis.Jobs): a document per job, a result per dataset, and per
// dataset a fan-in set of the documents its tasks produced.
type JobStore interface {
	CreateJob(ctx context.Context, id string, doc []byte, ttl time.Duration) (bool, error)
	PutJob(ctx context.Context, id string, doc []byte) error
	GetJob(ctx context.Context, id string) ([]byte, error)
	ListJobs(ctx context.Context, limit int) ([]string, error)
	PutDatasetResult(ctx context.Context, jobID, dataset string, doc []byte) error
	DatasetResults(ctx context.Context, jobID string) (map[string][]byte, error)
	PutArtifacts(ctx context.Context, jobID, dataset string, docs map[string][]byte) (int64, error)
	Artifacts(ctx context.Context, jobID, dataset string) (map[string][]byte, error)
}

// extractionMember is the fan-in member that holds a dataset's extraction;
// the other members are its formats. Publish is due when the set holds the
// extraction and every format.
const extractionMember = "_extraction"

// JobDoc is a job's record.
type JobDoc struct {
	JobID    string    `json:"job_id"`
	Stamp    string    `json:"stamp"`
	Start    time.Time `json:"start_time"`
	End      time.Time `json:"end_time,omitzero"`
	Datasets []string  `json:"datasets"`
	Formats  []string  `json:"formats,omitempty"`
	Full     bool      `json:"full,omitempty"`
	Strict   bool      `json:"strict,omitempty"`
	// Status is queued, running, succeeded or failed.
	Status string `json:"status"`
}

// artifactDoc is what an export task records for its format.
type artifactDoc struct {
	Artifact     *pipeline.Artifact `json:"artifact"`
	WarningCount int64              `json:"warning_count"`
	Warnings     []string           `json:"warnings,omitempty"`
}

// Records reads and writes job records.
type Records struct {
	Store JobStore
}

// Job returns the job's document.
func (r Records) Job(ctx context.Context, id string) (*JobDoc, error) {
	data, err := r.Store.GetJob(ctx, id)
	if err != nil {
		return nil, err
	}
	var doc JobDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("job %s: corrupt record: %w", id, err)
	}
	return &doc, nil
}

func (r Records) putJob(ctx context.Context, doc *JobDoc) error {
	data, _ := json.Marshal(doc)
	return r.Store.PutJob(ctx, doc.JobID, data)
}

// results returns the finished datasets' results.
func (r Records) results(ctx context.Context, id string) (map[string]*pipeline.DatasetResult, error) {
	raw, err := r.Store.DatasetResults(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*pipeline.DatasetResult, len(raw))
	for name, data := range raw {
		var res pipeline.DatasetResult
		if err := json.Unmarshal(data, &res); err != nil {
			return nil, fmt.Errorf("job %s, dataset %s: corrupt result: %w", id, name, err)
		}
		out[name] = &res
	}
	return out, nil
}

func (r Records) putResult(ctx context.Context, id string, res *pipeline.DatasetResult) error {
	data, err := json.Marshal(res)
	if err != nil {
		return err
	}
	return r.Store.PutDatasetResult(ctx, id, res.Name, data)
}

// extraction returns the recorded extraction of a dataset, or nil.
func (r Records) extraction(ctx context.Context, id, dataset string) (*pipeline.Extraction, map[string][]byte, error) {
	docs, err := r.Store.Artifacts(ctx, id, dataset)
	if err != nil {
		return nil, nil, err
	}
	data, ok := docs[extractionMember]
	if !ok {
		return nil, docs, nil
	}
	var ext pipeline.Extraction
	if err := json.Unmarshal(data, &ext); err != nil {
		return nil, nil, fmt.Errorf("job %s, dataset %s: corrupt extraction record: %w", id, dataset, err)
	}
	return &ext, docs, nil
}

// Report builds the job's report from its records: finished datasets with
// their results, the others as pending. done reports whether every
// dataset has finished.
func (r Records) Report(ctx context.Context, id string) (rep *pipeline.Report, done bool, err error) {
	doc, err := r.Job(ctx, id)
	if err != nil {
		return nil, false, err
	}
	results, err := r.results(ctx, id)
	if err != nil {
		return nil, false, err
	}
	rep = &pipeline.Report{JobID: id, Start: doc.Start, End: doc.End, Status: doc.Status}
	done = true
	rep.Success = true
	var errs []string
	for _, name := range doc.Datasets {
		res := results[name]
		if res == nil {
			done = false
			rep.Success = false
			rep.Datasets = append(rep.Datasets, &pipeline.DatasetResult{Name: name, Mode: "pending"})
			continue
		}
		if !res.Success {
			rep.Success = false
			errs = append(errs, res.Error)
		}
		rep.Datasets = append(rep.Datasets, res)
	}
	rep.Error = joinErrors(errs)
	if !done && rep.Status == "" {
		rep.Status = "running"
	}
	return rep, done, nil
}

func joinErrors(errs []string) string { return strings.Join(errs, "; ") }
