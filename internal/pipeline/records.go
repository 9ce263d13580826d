package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/countydatasync/countysync/internal/state"
)

// JobRecord is a job's document in the job records (state.Jobs): what the
// job was asked to do and how it ended. Every step reads its options from
// here, so a dataset's formats have one source.
type JobRecord struct {
	JobID    string    `json:"job_id"`
	Stamp    string    `json:"stamp"`
	Start    time.Time `json:"start_time"`
	End      time.Time `json:"end_time,omitzero"`
	Datasets []string  `json:"datasets"`
	Options
	// Manifest is where the job's manifest is (a path or an s3:// URL).
	Manifest string `json:"manifest,omitempty"`
	// Status is queued, succeeded or failed.
	Status string `json:"status"`
	// Error is a failure of the job itself (its final manifest could not
	// be written), beside its datasets' errors.
	Error string `json:"error,omitempty"`
}

// Ended reports whether the job has finished.
func (r *JobRecord) Ended() bool { return r.Status == StatusSucceeded || r.Status == StatusFailed }

// Job returns the job the record describes.
func (r *JobRecord) Job() Job { return Job{ID: r.JobID, Stamp: r.Stamp, Start: r.Start} }

// Job and report statuses.
const (
	StatusQueued    = "queued"
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// Fan-in members of a dataset besides its formats.
const (
	// extractionMember holds the dataset's Extraction. Publish is due
	// when the fan-in holds it and every format.
	extractionMember = "_extraction"
	// linkingMember is written before Publish moves the first latest name:
	// from then on cleanup after a failure leaves the run's files alone.
	linkingMember = "_linking"
)

// rendered is the fan-in record of one rendered format.
type rendered struct {
	Artifact *Artifact `json:"artifact"`
	// WarningCount and Warnings are the rendering pass's row warnings,
	// the same for every format of the pass: they go with the record of
	// the dataset's first format only, so a dataset split over several
	// passes counts them once.
	WarningCount int64    `json:"warning_count"`
	Warnings     []string `json:"warnings,omitempty"`
	// Seconds is how long the pass took to render and upload.
	Seconds float64 `json:"seconds,omitempty"`
}

// LoadJob returns job id's record.
func LoadJob(ctx context.Context, jobs state.Jobs, id string) (*JobRecord, error) {
	data, err := jobs.GetJob(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("job %s: %w", id, err)
	}
	var rec JobRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("job %s: corrupt record: %w", id, err)
	}
	return &rec, nil
}

func putJob(ctx context.Context, jobs state.Jobs, rec *JobRecord) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return jobs.PutJob(ctx, rec.JobID, data)
}

// results returns the finished datasets' results of job id.
func results(ctx context.Context, jobs state.Jobs, id string) (map[string]*DatasetResult, error) {
	raw, err := jobs.DatasetResults(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("job %s: read results: %w", id, err)
	}
	out := make(map[string]*DatasetResult, len(raw))
	for name, data := range raw {
		var res DatasetResult
		if err := json.Unmarshal(data, &res); err != nil {
			return nil, fmt.Errorf("job %s, dataset %s: corrupt result: %w", id, name, err)
		}
		out[name] = &res
	}
	return out, nil
}

func putResult(ctx context.Context, jobs state.Jobs, id string, res *DatasetResult) error {
	data, err := json.Marshal(res)
	if err != nil {
		return err
	}
	return jobs.PutDatasetResult(ctx, id, res.Name, data)
}

// fanIn is what a dataset's steps have recorded so far in a job.
type fanIn struct {
	ext      *Extraction
	formats  map[string]*rendered
	linking  bool
	complete bool // the extraction and every format of the job are in
}

// readFanIn returns the dataset's fan-in in job id.
func readFanIn(ctx context.Context, jobs state.Jobs, id, dataset string, formats []string) (*fanIn, error) {
	docs, err := jobs.Artifacts(ctx, id, dataset)
	if err != nil {
		return nil, fmt.Errorf("job %s, dataset %s: read records: %w", id, dataset, err)
	}
	return decodeFanIn(id, dataset, docs, formats)
}

// addFanIn records docs in the dataset's fan-in and returns all of it.
func addFanIn(ctx context.Context, jobs state.Jobs, id, dataset string, docs map[string][]byte, formats []string) (*fanIn, error) {
	all, err := jobs.PutArtifacts(ctx, id, dataset, docs)
	if err != nil {
		return nil, fmt.Errorf("job %s, dataset %s: record: %w", id, dataset, err)
	}
	return decodeFanIn(id, dataset, all, formats)
}

func decodeFanIn(id, dataset string, docs map[string][]byte, formats []string) (*fanIn, error) {
	f := &fanIn{formats: map[string]*rendered{}}
	for member, data := range docs {
		switch member {
		case extractionMember:
			f.ext = &Extraction{}
			if err := json.Unmarshal(data, f.ext); err != nil {
				return nil, fmt.Errorf("job %s, dataset %s: corrupt extraction record: %w", id, dataset, err)
			}
		case linkingMember:
			f.linking = true
		default:
			var r rendered
			if err := json.Unmarshal(data, &r); err != nil || r.Artifact == nil {
				return nil, fmt.Errorf("job %s, dataset %s: corrupt record of %s: %v", id, dataset, member, err)
			}
			f.formats[member] = &r
		}
	}
	f.complete = f.ext != nil && len(f.pending(formats)) == 0
	return f, nil
}

// pending returns the formats with no rendered record, in order.
func (f *fanIn) pending(formats []string) []string {
	var out []string
	for _, name := range formats {
		if _, ok := f.formats[name]; !ok {
			out = append(out, name)
		}
	}
	return out
}

// renderedRecords encodes a pass's artifacts as fan-in records.
func renderedRecords(formats []string, arts []*Artifact, w *Warnings, seconds float64) map[string][]byte {
	docs := make(map[string][]byte, len(arts)+1)
	for _, a := range arts {
		r := rendered{Artifact: a, Seconds: seconds}
		if a.Format == formats[0] {
			r.WarningCount, r.Warnings = w.Count(), w.Messages()
		}
		docs[a.Format], _ = json.Marshal(r)
	}
	return docs
}

// ReadReport builds job id's report from its records: finished datasets with
// their results, the others as pending. done reports whether every
// dataset has finished.
func ReadReport(ctx context.Context, jobs state.Jobs, id string) (rep *Report, done bool, err error) {
	rec, err := LoadJob(ctx, jobs, id)
	if err != nil {
		return nil, false, err
	}
	res, err := results(ctx, jobs, id)
	if err != nil {
		return nil, false, err
	}
	return reportOf(rec, res)
}

func reportOf(rec *JobRecord, res map[string]*DatasetResult) (*Report, bool, error) {
	rep := &Report{JobID: rec.JobID, Start: rec.Start, End: rec.End, Status: rec.Status, Manifest: rec.Manifest, Success: true}
	done := true
	var errs []string
	for _, name := range rec.Datasets {
		r := res[name]
		if r == nil {
			done = false
			rep.Success = false
			rep.Datasets = append(rep.Datasets, &DatasetResult{Name: name, Mode: ModePending})
			continue
		}
		if !r.Success {
			rep.Success = false
			errs = append(errs, r.Error)
		}
		rep.Datasets = append(rep.Datasets, r)
	}
	if rec.Error != "" {
		rep.Success = false
		errs = append(errs, rec.Error)
	}
	rep.Error = joinErrors(errs)
	return rep, done, nil
}

func joinErrors(errs []string) string {
	errs = slices.DeleteFunc(errs, func(s string) bool { return s == "" })
	out := ""
	for i, e := range errs {
		if i > 0 {
			out += "; "
		}
		out += e
	}
	return out
}
