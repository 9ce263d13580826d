package format

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twpayne/go-geom"

	"github.com/countydatasync/countysync/internal/record"
)

// The fixture covers every kind, NULL next to empty values, characters
// that need quoting or escaping, exact numerics, non-finite floats and
// the geometry cases (clockwise rings, holes, multipolygon, empty,
// unparsed, NULL).

var fixtureSchema = &record.Schema{Columns: []record.Column{
	{Name: "id", Kind: record.Int, SourceType: "bigint"},
	{Name: "name", Kind: record.Text, SourceType: "text"},
	{Name: "note", Kind: record.Text, SourceType: "text"},
	{Name: "amount", Kind: record.Numeric, SourceType: "numeric(30,10)"},
	{Name: "price", Kind: record.Numeric, SourceType: "numeric(12,2)"},
	{Name: "ratio", Kind: record.Float, SourceType: "double precision"},
	{Name: "flag", Kind: record.Bool, SourceType: "boolean"},
	{Name: "day", Kind: record.Date, SourceType: "date"},
	{Name: "ts", Kind: record.TimestampTZ, SourceType: "timestamptz"},
	{Name: "local", Kind: record.Timestamp, SourceType: "timestamp"},
	{Name: "uid", Kind: record.UUID, SourceType: "uuid"},
	{Name: "attrs", Kind: record.JSON, SourceType: "jsonb"},
	{Name: "tags", Kind: record.Array, SourceType: "text[]"},
	{Name: "raw", Kind: record.Bytes, SourceType: "bytea"},
	{Name: "geom", Kind: record.Geometry, SourceType: "geometry"},
	{Name: `we"ird, col`, Kind: record.Text, SourceType: "text"},
	{Name: "select", Kind: record.Text, SourceType: "text"},
}}

func fixtureOptions() Options {
	return Options{
		Dataset:        "parcels",
		Schema:         fixtureSchema,
		KeyColumns:     []string{"id"},
		GeometryColumn: "geom",
	}
}

func poly(rings ...[]geom.Coord) *geom.Polygon {
	p := geom.NewPolygon(geom.XY).MustSetCoords(rings)
	p.SetSRID(4326)
	return p
}

func geomValue(g geom.T) record.Value {
	return record.Value{Kind: record.Geometry, G: g}
}

// Exterior ring clockwise (north, east, south, west) with a coordinate
// that needs rounding to 7 decimals; the hole counter-clockwise. The
// GeoJSON writer must reverse both.
var polyWithHole = poly(
	[]geom.Coord{{-122.5, 37.5}, {-122.5, 37.6}, {-122.123456789, 37.6}, {-122.4, 37.5}, {-122.5, 37.5}},
	[]geom.Coord{{-122.45, 37.52}, {-122.42, 37.52}, {-122.42, 37.55}, {-122.45, 37.52}},
)

var multiPoly = func() *geom.MultiPolygon {
	m := geom.NewMultiPolygon(geom.XY).MustSetCoords([][][]geom.Coord{
		{{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}}, // counter-clockwise
		{{{2, 2}, {2, 3}, {3, 3}, {3, 2}, {2, 2}}}, // clockwise
	})
	m.SetSRID(4326)
	return m
}()

var (
	tsUTC   = time.Date(2025, 4, 11, 14, 30, 42, 123456000, time.FixedZone("CEST", 2*3600))
	tsLocal = time.Date(2025, 4, 11, 14, 30, 42, 500000000, time.UTC)
	day     = time.Date(2025, 4, 11, 0, 0, 0, 0, time.UTC)
)

func fixtureRows() []record.Row {
	null := record.Value{}
	return []record.Row{
		{
			record.IntValue(1), record.TextValue("Alice"),
			record.TextValue("He said \"hi\", then left\nnext line\ttab\r!"),
			record.NumericValue("12345678901234567890.1234567890"), record.NumericValue("1234.50"),
			record.FloatValue(0.1), record.BoolValue(true), record.DateValue(day),
			record.TimestampTZValue(tsUTC), record.TimestampValue(tsLocal),
			{Kind: record.UUID, S: "0b6f8a8e-3c1d-4f5e-9a7b-2c3d4e5f6a7b"},
			{Kind: record.JSON, S: `{"a": 1, "b": [true, null], "c": "x\"y"}`},
			{Kind: record.Array, S: `["x","y,z"]`},
			record.BytesValue([]byte{0, 1, 2, 255}),
			geomValue(polyWithHole),
			record.TextValue(`a "quoted" value`), record.TextValue("from"),
		},
		{
			record.IntValue(2), record.TextValue(""), null,
			record.NumericValue("1.5000000000"), record.NumericValue("-0.01"),
			record.FloatValue(nan()), record.BoolValue(false), record.DateValue(day.AddDate(0, 0, 1)),
			record.TimestampTZValue(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)), record.TimestampValue(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)),
			null, null, {Kind: record.Array, S: `[]`},
			record.BytesValue([]byte{}),
			geomValue(multiPoly),
			record.TextValue(`\.`), record.TextValue(","),
		},
		{
			record.IntValue(3), record.TextValue("Zoë 北京 😀 \u2028 \u2029"), record.TextValue("\x01ctrl\x1f\\"),
			record.NumericValue("NaN"), null,
			record.FloatValue(inf(1)), null, null, null, null, null,
			{Kind: record.JSON, S: `"just a string"`}, null, null,
			geomValue(geom.NewPolygon(geom.XY)), // empty
			null, null,
		},
		{
			record.IntValue(4), null, record.TextValue(" leading and trailing "),
			record.NumericValue("-0.0000000001"), record.NumericValue("100.00"),
			record.FloatValue(inf(-1)), null, null, null, null, null, null, null, null,
			{Kind: record.Geometry, S: "POLYGON((garbage"}, // did not parse
			null, null,
		},
		{
			record.IntValue(5), null, null, null, null, null, null, null, null, null, null, null, null, null,
			null, // NULL geometry
			null, null,
		},
		{
			record.IntValue(6), record.TextValue("bad\xffbyte"), record.TextValue("1e21 and 1e-7"),
			record.NumericValue("42"), record.NumericValue("0"),
			record.FloatValue(1e21), null, null, null, null, null, null, null, null,
			geomValue(geom.NewPoint(geom.XY).MustSetCoords(geom.Coord{1.5, -2.25}).SetSRID(4326)),
			null, null,
		},
		{
			record.IntValue(7), null, null, null, null,
			record.FloatValue(1e-7), null, null, null, null, null, null, null, null, null,
			null, null,
		},
	}
}

func nan() float64 { var z float64; return z / z }
func inf(sign int) float64 {
	var z float64
	if sign < 0 {
		return -1 / z
	}
	return 1 / z
}

// writeAll renders rows with the named format into a file under dir and
// returns its path.
func writeAll(t testing.TB, format string, opts Options, rows []record.Row) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out."+format)
	w, err := New(format, path, opts)
	if err != nil {
		t.Fatalf("New(%s): %v", format, err)
	}
	for _, r := range rows {
		if err := w.WriteRow(r); err != nil {
			w.Close()
			t.Fatalf("%s WriteRow: %v", format, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("%s Close: %v", format, err)
	}
	return path
}

func mkdirAll(t testing.TB, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}
