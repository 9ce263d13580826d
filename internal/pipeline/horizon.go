package pipeline

import (
	"fmt"
	"time"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/record"
	"github.com/countydatasync/countysync/internal/source"
	"github.com/countydatasync/countysync/internal/state"
)

// WatermarkCap says why a run's watermark stays below the highest cursor
// value it read: a transaction open when the query took its snapshot may
// still commit rows below that value, which the next run must read (see
// docs/ARCHITECTURE.md, Incremental runs).
type WatermarkCap struct {
	// Read is the highest cursor value the run read.
	Read state.Cursor `json:"read"`
	// Reason names the transactions and the rule applied.
	Reason string `json:"reason"`
}

// capWatermark lowers ext.WatermarkAfter so that no transaction open when
// the query took its snapshot (h, from the source) can later commit a row
// below it:
//
//   - a timestamp or date cursor stops at the start of the oldest such
//     transaction (a transaction's now() is its start), and always at the
//     source's clock when the transactions were listed (one that began
//     after that writes later times);
//   - any other cursor (integers from a sequence, numbers, text) carries
//     no time, so while any such transaction is open it stays at the
//     watermark the run started from: the next run reads from there.
//
// It never moves the watermark below where the run started. Sources
// without a horizon (SQLite: one writer at a time, see package
// source/sqlite) are not capped.
func capWatermark(env *Env, d *config.Dataset, ext *Extraction, h *source.Horizon, w *Warnings) {
	if d.Incremental == nil || h == nil || ext.WatermarkAfter == nil {
		return
	}
	if h.Hidden > 0 {
		w.Add("dataset %s: the source role cannot see %d other session(s) of the database (pg_stat_activity shows <insufficient privilege>): "+
			"the watermark cannot be kept below their open transactions; grant the role pg_read_all_stats", d.Name, h.Hidden)
		env.Log.Warn("the source role cannot see other sessions; their late commits are not protected (grant pg_read_all_stats)",
			"dataset", d.Name, "hidden_sessions", h.Hidden)
	}
	after, err := ext.WatermarkAfter.Decode()
	if err != nil || after.Kind == record.Null {
		return
	}
	var before record.Value
	if ext.WatermarkBefore != nil {
		before, _ = ext.WatermarkBefore.Decode()
	}
	var limit record.Value
	var reason string
	oldest := func() string {
		return fmt.Sprintf("%d transaction(s) open in the source database when the query began, the oldest (pid %d) since %s",
			h.Open, h.OldestPID, h.OldestStart.Format(time.RFC3339Nano))
	}
	switch after.Kind {
	case record.TimestampTZ, record.Timestamp, record.Date:
		at, wall := h.Now, h.NowLocal
		reason = "the source's clock when the query began"
		if h.Open > 0 && h.OldestStart.Before(at) {
			at, wall = h.OldestStart, h.OldestLocal
			reason = oldest() + ": its rows may still commit with earlier times"
		}
		switch after.Kind {
		case record.TimestampTZ:
			limit = record.TimestampTZValue(at)
		case record.Timestamp:
			limit = record.TimestampValue(wall)
		default:
			limit = record.DateValue(wall)
		}
	default:
		if h.Open == 0 {
			return
		}
		limit = before
		reason = oldest() + fmt.Sprintf(": a %s cursor carries no time, so the watermark stays where the run started until a run finds none open", after.Kind)
	}
	if limit.Kind != record.Null && !state.Less(limit, after) {
		return
	}
	if before.Kind != record.Null && state.Less(limit, before) {
		limit = before
	}
	capped, err := state.EncodeCursor(limit)
	if err != nil {
		return
	}
	ext.WatermarkCap = &WatermarkCap{Read: *ext.WatermarkAfter, Reason: reason}
	ext.WatermarkAfter = &capped
	env.Log.Info("watermark kept below transactions in flight", "dataset", d.Name,
		"read", ext.WatermarkCap.Read.Value, "watermark", capped.Value, "reason", reason)
}
