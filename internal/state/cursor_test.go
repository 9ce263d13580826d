package state

import (
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/record"
)

func TestCursorRoundTripKeepsPrecision(t *testing.T) {
	ts := time.Date(2025, 4, 11, 14, 30, 42, 123456789, time.UTC)
	for _, v := range []record.Value{
		record.TimestampTZValue(ts),
		record.TimestampValue(ts),
		record.DateValue(ts),
		record.IntValue(-9007199254740993),
		record.NumericValue("12345678901234567890.0000000001"),
		record.TextValue("2025-04-11 10:00"),
	} {
		c, err := EncodeCursor(v)
		if err != nil {
			t.Fatal(err)
		}
		back, err := c.Decode()
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if back.Kind != v.Kind || back.I != v.I || back.S != v.S || !back.T.Equal(v.T) {
			t.Errorf("%s round trip: got %+v, want %+v (via %+v)", v.Kind, back, v, c)
		}
	}
	if _, err := EncodeCursor(record.Value{Kind: record.Geometry}); err == nil {
		t.Error("geometry cursor accepted")
	}
}

func TestCompareNumericByValue(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"9.5", "10", -1},
		{"10.00", "10", 0},
		{"-1", "-0.5", -1},
		{"12345678901234567890.0000000002", "12345678901234567890.0000000001", 1},
	}
	for _, c := range cases {
		if got := Compare(record.NumericValue(c.a), record.NumericValue(c.b)); got != c.want {
			t.Errorf("Compare(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestLookback(t *testing.T) {
	ts := time.Date(2025, 4, 11, 0, 2, 0, 0, time.UTC)
	got := Lookback(record.TimestampTZValue(ts), 5*time.Minute)
	if want := ts.Add(-5 * time.Minute); !got.T.Equal(want) {
		t.Errorf("timestamptz lookback = %s, want %s", got.T, want)
	}
	d := Lookback(record.DateValue(ts), 5*time.Minute)
	if d.T.Format(record.DateLayout) != "2025-04-10" {
		t.Errorf("date lookback = %s, want the day before", d.T)
	}
	if i := Lookback(record.IntValue(42), time.Hour); i.I != 42 {
		t.Errorf("integer lookback = %d, want 42", i.I)
	}
}
