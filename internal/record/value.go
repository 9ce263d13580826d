package record

import (
	"time"

	"github.com/twpayne/go-geom"
)

// Value is one typed value. The zero Value is NULL.
type Value struct {
	Kind Kind
	I    int64
	F    float64
	S    string
	B    []byte
	T    time.Time
	// G is the decoded geometry of a Geometry value, set by the pipeline's
	// geometry stage. Nil means not decoded yet (or not decodable: see
	// the stage's warnings).
	G geom.T
	// L is G in WGS 84 lon/lat (SRID 4326) for the formats that need it
	// (geojson, gpkg), set by the geometry stage when G is in another
	// coordinate system and had to be reprojected; nil when G itself is
	// lon/lat (or web mercator, which the encoders convert).
	L geom.T
	// W is G's WKT text when the pipeline rendered it once for every
	// writer that needs it (csv, json, sqlite); nil otherwise.
	W []byte
}

// Row is one row of values in schema order.
type Row []Value

// Clone returns a copy of r that shares nothing mutable with it.
func (r Row) Clone() Row {
	out := make(Row, len(r))
	for i, v := range r {
		if v.B != nil {
			v.B = append([]byte(nil), v.B...)
		}
		out[i] = v
	}
	return out
}

// Constructors keep call sites short and make the payload field obvious.

// TextValue returns a Text value.
func TextValue(s string) Value { return Value{Kind: Text, S: s} }

// IntValue returns an Int value.
func IntValue(i int64) Value { return Value{Kind: Int, I: i} }

// FloatValue returns a Float value.
func FloatValue(f float64) Value { return Value{Kind: Float, F: f} }

// NumericValue returns a Numeric value from its exact decimal text.
func NumericValue(digits string) Value { return Value{Kind: Numeric, S: digits} }

// BoolValue returns a Bool value.
func BoolValue(b bool) Value {
	if b {
		return Value{Kind: Bool, I: 1}
	}
	return Value{Kind: Bool}
}

// DateValue returns a Date value for the calendar day of t.
func DateValue(t time.Time) Value {
	y, m, d := t.Date()
	return Value{Kind: Date, T: time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// TimestampValue returns a Timestamp (no zone) value with t's wall clock.
func TimestampValue(t time.Time) Value {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return Value{Kind: Timestamp, T: time.Date(y, mo, d, h, mi, s, t.Nanosecond(), time.UTC)}
}

// TimestampTZValue returns a TimestampTZ value for the instant t.
func TimestampTZValue(t time.Time) Value { return Value{Kind: TimestampTZ, T: t.UTC()} }

// BytesValue returns a Bytes value.
func BytesValue(b []byte) Value { return Value{Kind: Bytes, B: b} }
