package record

import (
	"math"
	"reflect"
	"testing"
	"time"
)

func TestRowCodecRoundTrip(t *testing.T) {
	ts := time.Date(2025, 4, 11, 14, 30, 42, 123456789, time.UTC)
	row := Row{
		{},
		TextValue(""),
		TextValue("a,\"b\"\nc ünï"),
		IntValue(-1 << 62),
		FloatValue(math.Inf(-1)),
		FloatValue(0.1),
		NumericValue("12345678901234567890.1234567890"),
		BoolValue(true),
		DateValue(ts),
		{Kind: Date, S: "infinity"},
		TimestampValue(ts),
		TimestampTZValue(ts),
		{Kind: UUID, S: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
		{Kind: JSON, S: `{"a":[1,2]}`},
		{Kind: Array, S: `[1,null]`},
		BytesValue([]byte{0, 1, 2, 255}),
		BytesValue([]byte{}),
		{Kind: Geometry, S: "POINT(1 2)"},
		{Kind: Geometry, B: []byte{1, 1, 0, 0, 0}},
	}
	enc := AppendRow(nil, row)
	got, err := DecodeRow(enc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(row) {
		t.Fatalf("got %d values, want %d", len(got), len(row))
	}
	for i := range row {
		w, g := row[i], got[i]
		if w.Kind != g.Kind || w.I != g.I || w.S != g.S || !w.T.Equal(g.T) || string(w.B) != string(g.B) ||
			!(w.F == g.F || (w.F != w.F && g.F != g.F)) {
			t.Errorf("value %d: got %+v, want %+v", i, g, w)
		}
	}
	// Decoding into a reused row gives the same result.
	again, err := DecodeRow(enc, got)
	if err != nil || !reflect.DeepEqual(again[2], got[2]) {
		t.Fatalf("reuse: %v %v", err, again)
	}
}

func TestDecodeRowCorrupt(t *testing.T) {
	enc := AppendRow(nil, Row{TextValue("hello"), IntValue(5)})
	for n := 0; n < len(enc); n++ {
		if _, err := DecodeRow(enc[:n], nil); err == nil {
			t.Errorf("truncated at %d: no error", n)
		}
	}
}

func FuzzDecodeRow(f *testing.F) {
	f.Add(AppendRow(nil, Row{TextValue("x"), IntValue(1), {Kind: Geometry, B: []byte{1}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DecodeRow(b, nil)
	})
}
