package pipeline

import "github.com/countydatasync/countysync/internal/state"

// Dataset result modes.
const (
	// ModeFull: the dataset was rebuilt from every row of its query (also
	// a dataset that failed before its extraction was recorded).
	ModeFull = "full"
	// ModeIncremental: the rows since the watermark were merged into the
	// previous snapshot.
	ModeIncremental = "incremental"
	// ModePending: the dataset has not finished yet (reports of running
	// jobs).
	ModePending = "pending"
)

// DatasetResult is what one dataset's run did; it appears in the report
// and the manifest.
type DatasetResult struct {
	Name string `json:"name"`
	// Mode is ModeFull, ModeIncremental or ModePending.
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
	// FullReason says why an incremental dataset ran full ("--full", no
	// watermark, schema changed); SchemaChanges lists the columns that
	// changed when that was why.
	FullReason    string   `json:"full_reason,omitempty"`
	SchemaChanges []string `json:"schema_changes,omitempty"`
	// KeysChecked is true when the run compared the source's keys with the
	// snapshot's (incremental.deletes: keys); Deleted counts the keys gone.
	KeysChecked bool `json:"keys_checked,omitempty"`
	// WatermarkBefore and WatermarkAfter are the cursor before and after
	// the run (incremental datasets).
	WatermarkBefore *state.Cursor `json:"watermark_before,omitempty"`
	WatermarkAfter  *state.Cursor `json:"watermark_after,omitempty"`
	// WatermarkCap, when set, says why WatermarkAfter is below the highest
	// cursor value read: transactions in flight in the source.
	WatermarkCap *WatermarkCap `json:"watermark_cap,omitempty"`
	// Snapshot is the storage key of the snapshot published.
	Snapshot        string      `json:"snapshot,omitempty"`
	Artifacts       []*Artifact `json:"artifacts"`
	WarningCount    int64       `json:"warning_count"`
	Warnings        []string    `json:"warnings,omitempty"`
	DurationSeconds float64     `json:"duration_seconds"`
	// ExtractSeconds is the time spent reading the source and merging the
	// snapshot; ExportSeconds the time spent rendering and uploading the
	// files from it (the longest pass when several steps shared the
	// formats). A streamed run does both in one pass and reports neither.
	ExtractSeconds float64 `json:"extract_seconds,omitempty"`
	ExportSeconds  float64 `json:"export_seconds,omitempty"`
}

// resultOf starts a dataset's result from its extraction.
func resultOf(ext *Extraction) *DatasetResult {
	return &DatasetResult{
		Name: ext.Dataset, Mode: ext.Mode, Records: ext.Records, RowsRead: ext.RowsRead,
		Inserted: ext.Inserted, Updated: ext.Updated, Deleted: ext.Deleted, Unchanged: ext.Unchanged,
		WatermarkBefore: ext.WatermarkBefore, WatermarkAfter: ext.WatermarkAfter, WatermarkCap: ext.WatermarkCap,
		WarningCount: ext.WarningCount, Warnings: ext.Warnings, ExtractSeconds: ext.ExtractSeconds,
		FullReason: ext.FullReason, SchemaChanges: ext.SchemaChanges, KeysChecked: ext.KeysChecked,
	}
}
