package pipeline

import (
	"strings"
	"time"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/record"
	"github.com/countydatasync/countysync/internal/source"
	"github.com/countydatasync/countysync/internal/state"
)

// cursorGuard keeps cursor values that no later change could pass out of
// the watermark: a time further than incremental.max_future past the
// source's clock, a temporal infinity, a NaN or infinite number. Such a
// value as the watermark would hide every later change (the next filter
// starts above it). The row itself is exported as read; the report's
// warnings name it.
type cursorGuard struct {
	column   string
	limit    time.Time // for timestamptz: the source's clock + max_future
	limitWal time.Time // for timestamp and date: the same, as a wall clock
	w        *Warnings
	dataset  string
	tol      time.Duration
}

// newCursorGuard returns the guard of an incremental dataset's read; the
// source's clock is the horizon's (PostgreSQL), else this machine's (a
// SQLite file has no clock of its own; CURRENT_TIMESTAMP is UTC).
func newCursorGuard(env *Env, d *config.Dataset, h *source.Horizon, w *Warnings) *cursorGuard {
	if d.Incremental == nil {
		return nil
	}
	now := env.now().UTC()
	nowWall := now
	if h != nil {
		now, nowWall = h.Now, h.NowLocal
	}
	tol := d.Incremental.MaxFuture.D()
	return &cursorGuard{column: d.Incremental.Column, limit: now.Add(tol), limitWal: nowWall.Add(tol), w: w, dataset: d.Name, tol: tol}
}

// sane reports whether c may become the watermark, and warns about the row
// when it may not.
func (g *cursorGuard) sane(c record.Value, st *stage, row record.Row) bool {
	if g == nil {
		return true
	}
	why := ""
	switch c.Kind {
	case record.Float:
		if !record.IsFinite(c.F) {
			why = "is not a finite number"
		}
	case record.Numeric:
		switch strings.ToLower(strings.TrimPrefix(c.S, "+")) {
		case "nan", "infinity", "-infinity", "inf", "-inf":
			why = "is not a finite number"
		}
	case record.Date, record.Timestamp, record.TimestampTZ:
		limit := g.limitWal
		if c.Kind == record.TimestampTZ {
			limit = g.limit
		}
		switch {
		case c.S != "":
			why = "is not a point in time"
		case c.T.After(limit):
			why = "is more than " + g.tol.String() + " past the source's clock (incremental.max_future)"
		}
	}
	if why == "" {
		return true
	}
	text := c.String()
	if enc, err := state.EncodeCursor(c); err == nil && c.S == "" {
		text = enc.Value
	}
	g.w.Add("dataset %s, %s: cursor %s value %s %s; the row is exported, but the watermark does not move to it",
		g.dataset, st.key(row), g.column, text, why)
	return false
}
