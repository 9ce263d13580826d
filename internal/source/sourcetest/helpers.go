package sourcetest

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/record"
	"github.com/countydatasync/countysync/internal/source"
)

// Collect runs query with filter f (nil for none) and returns the schema
// and a clone of every row. Any error fails the test.
func Collect(t testing.TB, src source.Source, query string, f *source.Filter) (*record.Schema, []record.Row) {
	t.Helper()
	schema, rows, err := collect(t, src, query, f)
	if err != nil {
		t.Fatalf("query %q: %v", query, err)
	}
	return schema, rows
}

// collect is Collect returning the error of Query or of Err.
func collect(t testing.TB, src source.Source, query string, f *source.Filter) (*record.Schema, []record.Row, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rows, err := src.Query(ctx, query, f)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var out []record.Row
	for rows.Next() {
		out = append(out, rows.Row().Clone())
	}
	return rows.Schema(), out, rows.Err()
}

// Describe renders a value unambiguously for test messages: its kind and
// the field that carries it.
func Describe(v record.Value) string {
	switch v.Kind {
	case record.Null:
		return "NULL"
	case record.Int, record.Bool:
		return fmt.Sprintf("%s(%d)", v.Kind, v.I)
	case record.Float:
		return fmt.Sprintf("float(%s)", record.AppendFloat(nil, v.F))
	case record.Bytes:
		return fmt.Sprintf("bytes(%x)", v.B)
	case record.Geometry:
		return fmt.Sprintf("geometry(%q, %x)", v.S, v.B)
	case record.Date, record.Timestamp, record.TimestampTZ:
		if v.S == "" {
			return fmt.Sprintf("%s(%s)", v.Kind, v.T.Format(time.RFC3339Nano))
		}
	}
	return fmt.Sprintf("%s(%q)", v.Kind, v.S)
}

// Equal reports whether a and b are the same value: the same kind and
// payload, floats equal with the same sign (NaN equals NaN), times the
// same instant and in UTC (or both zero).
func Equal(a, b record.Value) bool {
	if a.Kind != b.Kind || a.I != b.I || a.S != b.S || !bytes.Equal(a.B, b.B) {
		return false
	}
	if math.IsNaN(a.F) || math.IsNaN(b.F) {
		if !math.IsNaN(a.F) || !math.IsNaN(b.F) {
			return false
		}
	} else if a.F != b.F || math.Signbit(a.F) != math.Signbit(b.F) {
		return false
	}
	utc := func(t time.Time) bool { return t.IsZero() || t.Location() == time.UTC }
	return a.T.Equal(b.T) && utc(a.T) && utc(b.T)
}
