package transform_test

import (
	"encoding/csv"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/twpayne/go-geom"
	"github.com/twpayne/go-geom/encoding/ewkb"
	"github.com/twpayne/go-geom/encoding/wkb"

	"github.com/countydatasync/countysync/internal/format"
	"github.com/countydatasync/countysync/internal/geometry"
	"github.com/countydatasync/countysync/internal/record"
	"github.com/countydatasync/countysync/internal/transform"
)

// TestGeometryTextMatchesCSV checks that an expression sees a geometry as
// exactly the text the csv file gets for it: the expression's view is
// copied into a text column, the file's is read back from a CSV file the
// csv writer wrote (after geometry.Decode, as the pipeline decodes before
// rendering) with encoding/csv. Inputs come in the forms sources give:
// PostGIS EWKB bytes, ISO WKB bytes, hex-encoded EWKB text and WKT text
// spelled the way go-geom writes it; want is what PostGIS 3.3's ST_AsText
// writes for the same geometry (checked once with psql).
func TestGeometryTextMatchesCSV(t *testing.T) {
	parcel := geom.NewPolygonFlat(geom.XY, []float64{
		-77.0365298, 38.8976763, -77.0362, 38.8976, -77.0358, 38.8977, -77.0365298, 38.8976763,
	}, []int{8}).SetSRID(4326)
	square := geom.NewPolygonFlat(geom.XY, []float64{0, 0, 1, 0, 1, 1, 0, 0}, []int{8})
	pointZ := geom.NewPointFlat(geom.XYZ, []float64{1.5, -2, 1e-9})
	const (
		parcelWKT = "POLYGON((-77.0365298 38.8976763,-77.0362 38.8976,-77.0358 38.8977,-77.0365298 38.8976763))"
		squareWKT = "POLYGON((0 0,1 0,1 1,0 0))"
	)
	parcelEWKB, err := ewkb.Marshal(parcel, ewkb.NDR)
	if err != nil {
		t.Fatal(err)
	}
	squareWKB, err := wkb.Marshal(square, wkb.XDR)
	if err != nil {
		t.Fatal(err)
	}
	pointWKB, err := wkb.Marshal(pointZ, wkb.NDR)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		in   record.Value
		want string
	}{
		{"PostGIS EWKB", record.Value{Kind: record.Geometry, B: parcelEWKB}, parcelWKT},
		{"WKB", record.Value{Kind: record.Geometry, B: squareWKB}, squareWKT},
		{"WKB Z", record.Value{Kind: record.Geometry, B: pointWKB}, "POINT Z (1.5 -2 1e-9)"},
		{"hex EWKB text", record.Value{Kind: record.Geometry, S: hex.EncodeToString(parcelEWKB)}, parcelWKT},
		{"bytea hex text", record.Value{Kind: record.Geometry, S: `\x` + hex.EncodeToString(squareWKB)}, squareWKT},
		{"WKT text", record.Value{Kind: record.Geometry, S: "POLYGON ((0 0, 1 0, 1 1, 0 0))"}, squareWKT},
		{"EWKT text", record.Value{Kind: record.Geometry, S: "SRID=4326;polygon((0 0,1 0,1 1,0 0))"}, squareWKT},
		{"decoded", record.Value{Kind: record.Geometry, G: parcel}, parcelWKT},
	}
	schema := &record.Schema{Columns: []record.Column{
		{Name: "geom", Kind: record.Geometry},
		{Name: "seen", Kind: record.Text},
	}}
	set, err := transform.Compile(map[string]string{"seen": "row.geom"})
	if err != nil {
		t.Fatal(err)
	}
	bound, _, err := set.Bind(schema)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			row := record.Row{c.in, {}}
			if err := bound.Apply(row); err != nil {
				t.Fatal(err)
			}
			if row[1].Kind != record.Text {
				t.Fatalf("the expression saw %#v, not a string", row[1])
			}
			seen := row[1].S
			file := csvGeometry(t, c.in)
			if seen != file {
				t.Errorf("expression sees %q, the csv file has %q", seen, file)
			}
			if file != c.want {
				t.Errorf("csv file has %q, PostGIS writes %q", file, c.want)
			}
		})
	}
}

// TestGeometryTextUndecodable checks that a geometry that does not decode
// reaches the expression as the source gave it (the text formats keep
// that value, with a warning, and the expression's result goes through
// the same check).
func TestGeometryTextUndecodable(t *testing.T) {
	schema := &record.Schema{Columns: []record.Column{
		{Name: "geom", Kind: record.Geometry},
		{Name: "seen", Kind: record.Text},
		{Name: "bytes", Kind: record.Bool},
	}}
	set, err := transform.Compile(map[string]string{"seen": "type(row.geom) == 'string' ? row.geom : string(row.geom)", "bytes": "type(row.geom) == 'array'"})
	if err != nil {
		t.Fatal(err)
	}
	bound, _, err := set.Bind(schema)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in        record.Value
		wantS     string
		wantBytes bool
		wantCSV   string // the source's text; bytes as upper-case hex
	}{
		{record.Value{Kind: record.Geometry, S: "POLYGON((0 0,1 0,1 1))"}, "POLYGON((0 0,1 0,1 1))", false, "POLYGON((0 0,1 0,1 1))"},
		{record.Value{Kind: record.Geometry, B: []byte{1, 3, 0, 0}}, "\x01\x03\x00\x00", true, "01030000"},
	} {
		row := record.Row{c.in, {}, {}}
		if err := bound.Apply(row); err != nil {
			t.Fatal(err)
		}
		if row[1].S != c.wantS || (row[2].I != 0) != c.wantBytes {
			t.Errorf("%#v: expression saw %q (bytes: %v), want %q (bytes: %v)", c.in, row[1].S, row[2].I != 0, c.wantS, c.wantBytes)
		}
		if got := csvGeometry(t, c.in); got != c.wantCSV {
			t.Errorf("%#v: csv file has %q, want the source's value %q", c.in, got, c.wantCSV)
		}
	}
}

// csvGeometry writes v in a one-row CSV file with the csv writer and reads
// its field back with encoding/csv. A value that does not decode is left
// undecoded, as the pipeline leaves it; the file then has the source's
// value.
func csvGeometry(t *testing.T, v record.Value) string {
	t.Helper()
	if g, err := geometry.Decode(&v); err == nil {
		v.G = g
	}
	path := filepath.Join(t.TempDir(), "g.csv")
	schema := &record.Schema{Columns: []record.Column{{Name: "id", Kind: record.Int}, {Name: "geom", Kind: record.Geometry}}}
	w, err := format.New("csv", path, format.Options{Dataset: "g", Schema: schema, GeometryColumn: "geom"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteRow(record.Row{record.IntValue(1), v}); err != nil {
		w.Close()
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || len(recs[1]) != 2 || recs[0][1] != "geom" || recs[1][0] != "1" {
		t.Fatalf("csv file holds %q, want a header and one row", recs)
	}
	return recs[1][1]
}
