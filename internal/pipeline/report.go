package pipeline

import (
	"bytes"
	"encoding/json"
	"time"
)

// Report describes a job (docs/ARCHITECTURE.md, Report and manifest).
// Its JSON form has the keys of the
// seed report — job_id, start_time, end_time, success, stats with
// records_processed, <dataset>_records and duration_seconds,
// <dataset>_db_path and <dataset>_export_paths — followed by per-dataset
// details, warnings and the manifest's location. The same document is the
// job's manifest.
type Report struct {
	JobID    string
	Start    time.Time
	End      time.Time
	Success  bool
	Error    string
	Datasets []*DatasetResult
	// Manifest is where the manifest was written.
	Manifest string
	// Status is "running" while the job runs, then "succeeded" or "failed".
	Status string
}

// RecordsProcessed sums the records published by every dataset.
func (r *Report) RecordsProcessed() int64 {
	var n int64
	for _, d := range r.Datasets {
		n += d.Records
	}
	return n
}

// MarshalJSON writes the report with its keys in a stable, readable order.
func (r *Report) MarshalJSON() ([]byte, error) {
	o := &orderedObject{}
	o.add("job_id", r.JobID)
	o.add("status", r.Status)
	o.add("start_time", r.Start.UTC().Format(time.RFC3339Nano))
	if !r.End.IsZero() {
		o.add("end_time", r.End.UTC().Format(time.RFC3339Nano))
	}
	o.add("success", r.Success)
	if r.Error != "" {
		o.add("error", r.Error)
	}
	stats := &orderedObject{}
	stats.add("records_processed", r.RecordsProcessed())
	for _, d := range r.Datasets {
		stats.add(d.Name+"_records", d.Records)
	}
	end := r.End
	if end.IsZero() {
		end = time.Now()
	}
	stats.add("duration_seconds", roundSeconds(end.Sub(r.Start).Seconds()))
	o.add("stats", stats)
	var warnings []string
	datasets := &orderedObject{}
	for _, d := range r.Datasets {
		paths := &orderedObject{}
		dbPath := ""
		for _, a := range d.Artifacts {
			paths.add(a.Format, a.Path)
			if a.Format == "sqlite" {
				dbPath = a.Path
			}
		}
		if dbPath != "" {
			o.add(d.Name+"_db_path", dbPath)
		}
		o.add(d.Name+"_export_paths", paths)
		datasets.add(d.Name, d)
		warnings = append(warnings, d.Warnings...)
	}
	o.add("datasets", datasets)
	if warnings == nil {
		warnings = []string{}
	}
	o.add("warnings", warnings)
	if r.Manifest != "" {
		o.add("manifest", r.Manifest)
	}
	return o.MarshalJSON()
}

func roundSeconds(s float64) float64 {
	return float64(int64(s*1000+0.5)) / 1000
}

// orderedObject is a JSON object that keeps its keys in insertion order.
type orderedObject struct {
	keys   []string
	values []any
}

func (o *orderedObject) add(k string, v any) {
	o.keys = append(o.keys, k)
	o.values = append(o.values, v)
}

func (o *orderedObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(o.values[i])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
