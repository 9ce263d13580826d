package state

import (
	"cmp"
	"fmt"
	"strconv"
	"time"

	"github.com/countydatasync/countysync/internal/record"
)

// Cursor is a cursor value in a form that keeps full precision: the kind
// and the exact text (RFC 3339 with nanoseconds for temporal kinds, exact
// digits for numbers).
type Cursor struct {
	Kind  string `json:"kind,omitempty"`
	Value string `json:"value,omitempty"`
}

const cursorTimeLayout = "2006-01-02T15:04:05.999999999"

// IsZero reports whether c holds no value.
func (c Cursor) IsZero() bool { return c.Kind == "" }

// EncodeCursor converts a cursor value for storage.
func EncodeCursor(v record.Value) (Cursor, error) {
	switch v.Kind {
	case record.Null:
		return Cursor{}, nil
	case record.Int:
		return Cursor{Kind: v.Kind.String(), Value: strconv.FormatInt(v.I, 10)}, nil
	case record.Numeric, record.Text:
		return Cursor{Kind: v.Kind.String(), Value: v.S}, nil
	case record.Float:
		return Cursor{Kind: v.Kind.String(), Value: strconv.FormatFloat(v.F, 'g', -1, 64)}, nil
	case record.Date:
		return Cursor{Kind: v.Kind.String(), Value: v.T.Format(record.DateLayout)}, nil
	case record.Timestamp:
		return Cursor{Kind: v.Kind.String(), Value: v.T.Format(cursorTimeLayout)}, nil
	case record.TimestampTZ:
		return Cursor{Kind: v.Kind.String(), Value: v.T.UTC().Format(cursorTimeLayout) + "Z"}, nil
	}
	return Cursor{}, fmt.Errorf("a %s column cannot be an incremental cursor (use a timestamp, date, integer or numeric column)", v.Kind)
}

// Decode converts c back to a value.
func (c Cursor) Decode() (record.Value, error) {
	if c.Kind == "" {
		return record.Value{}, nil
	}
	k, err := record.ParseKind(c.Kind)
	if err != nil {
		return record.Value{}, err
	}
	switch k {
	case record.Int:
		i, err := strconv.ParseInt(c.Value, 10, 64)
		return record.IntValue(i), err
	case record.Numeric:
		return record.NumericValue(c.Value), nil
	case record.Text:
		return record.TextValue(c.Value), nil
	case record.Float:
		f, err := strconv.ParseFloat(c.Value, 64)
		return record.FloatValue(f), err
	case record.Date:
		t, err := time.Parse(record.DateLayout, c.Value)
		return record.DateValue(t), err
	case record.Timestamp:
		t, err := time.Parse(cursorTimeLayout, c.Value)
		return record.TimestampValue(t), err
	case record.TimestampTZ:
		t, err := time.Parse(cursorTimeLayout+"Z", c.Value)
		return record.TimestampTZValue(t), err
	}
	return record.Value{}, fmt.Errorf("unsupported cursor kind %q", c.Kind)
}

// Less reports whether a sorts before b; both must be of the same kind.
func Less(a, b record.Value) bool { return Compare(a, b) < 0 }

// Compare orders two cursor values of the same kind (-1, 0, +1). Null
// sorts first. Numeric values compare by value, not text.
func Compare(a, b record.Value) int {
	switch {
	case a.Kind == record.Null && b.Kind == record.Null:
		return 0
	case a.Kind == record.Null:
		return -1
	case b.Kind == record.Null:
		return 1
	}
	switch a.Kind {
	case record.Int:
		return cmp.Compare(a.I, b.I)
	case record.Float:
		return cmp.Compare(a.F, b.F)
	case record.Numeric:
		return compareDecimal(a.S, b.S)
	case record.Text:
		return cmp.Compare(a.S, b.S)
	case record.Date, record.Timestamp, record.TimestampTZ:
		return a.T.Compare(b.T)
	}
	return 0
}

// Lookback returns the lower bound of an incremental query: v minus d for
// temporal cursors; numeric cursors ignore d (the boundary row itself is
// always re-read because the filter is >=).
func Lookback(v record.Value, d time.Duration) record.Value {
	switch v.Kind {
	case record.Timestamp, record.TimestampTZ:
		v.T = v.T.Add(-d)
	case record.Date:
		v.T = v.T.Add(-d)
		v = record.DateValue(v.T)
	}
	return v
}
