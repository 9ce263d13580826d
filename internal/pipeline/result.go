package pipeline

import (
	"time"

	"github.com/countydatasync/countysync/internal/state"
)

// DatasetResult is what one dataset's run did; it appears in the report
// and the manifest.
type DatasetResult struct {
	Name string `json:"name"`
	// Mode is "full" or "incremental".
	Mode    string `json:"mode"`
	Success bool   `json:"success"`
	Error   string `json:"error,omitempty"`
	// Records is the number of rows published in every format.
	Records int64 `json:"records"`
	// RowsRead is the number of rows the query returned.
	RowsRead int64 `json:"rows_read"`
	// Inserted, Updated, Deleted and Unchanged count what the rows read
	// did to the snapshot (incremental datasets).
	Inserted  int64 `json:"inserted"`
	Updated   int64 `json:"updated"`
	Deleted   int64 `json:"deleted"`
	Unchanged int64 `json:"unchanged"`
	// WatermarkBefore and WatermarkAfter are the cursor before and after
	// the run (incremental datasets).
	WatermarkBefore *state.Cursor `json:"watermark_before,omitempty"`
	WatermarkAfter  *state.Cursor `json:"watermark_after,omitempty"`
	// Snapshot is the storage key of the snapshot published.
	Snapshot        string      `json:"snapshot,omitempty"`
	Artifacts       []*Artifact `json:"artifacts"`
	WarningCount    int64       `json:"warning_count"`
	Warnings        []string    `json:"warnings,omitempty"`
	DurationSeconds float64     `json:"duration_seconds"`
	// ExtractSeconds is the time spent reading the source and merging the
	// snapshot; ExportSeconds the time spent rendering and publishing the
	// files (embedded runs through a snapshot; a streamed run does both in
	// one pass and reports neither).
	ExtractSeconds float64 `json:"extract_seconds,omitempty"`
	ExportSeconds  float64 `json:"export_seconds,omitempty"`

	start time.Time
}
