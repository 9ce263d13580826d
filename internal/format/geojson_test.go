package format

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/twpayne/go-geom"

	"github.com/countydatasync/countysync/internal/record"
)

type gjFeature struct {
	Type       string          `json:"type"`
	ID         json.RawMessage `json:"id"`
	Geometry   json.RawMessage `json:"geometry"`
	Properties map[string]any  `json:"properties"`
}

type gjCollection struct {
	Type     string      `json:"type"`
	Features []gjFeature `json:"features"`
}

type gjGeometry struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
}

// signedArea is the shoelace area: positive for counter-clockwise rings.
func signedArea(ring [][]float64) float64 {
	a := 0.0
	for i := 0; i+1 < len(ring); i++ {
		a += ring[i][0]*ring[i+1][1] - ring[i+1][0]*ring[i][1]
	}
	return a / 2
}

func checkPolygonRings(t *testing.T, what string, rings [][][]float64) {
	t.Helper()
	for i, r := range rings {
		if len(r) < 4 || !reflect.DeepEqual(r[0], r[len(r)-1]) {
			t.Errorf("%s ring %d is not closed: %v", what, i, r)
		}
		a := signedArea(r)
		if i == 0 && a <= 0 {
			t.Errorf("%s exterior ring is not counter-clockwise (area %v)", what, a)
		}
		if i > 0 && a >= 0 {
			t.Errorf("%s hole %d is not clockwise (area %v)", what, i, a)
		}
	}
}

// checkDecimals walks decoded coordinates (json.Number leaves) and checks
// that none has more than max decimals.
func checkDecimals(t *testing.T, v any, max int) {
	t.Helper()
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			checkDecimals(t, e, max)
		}
	case json.Number:
		s := string(v)
		if i := strings.IndexByte(s, '.'); i >= 0 && len(s)-i-1 > max {
			t.Errorf("coordinate %s has more than %d decimals", s, max)
		}
		if strings.ContainsAny(s, "eE") {
			t.Errorf("coordinate %s in exponent form", s)
		}
	}
}

func TestGeoJSON(t *testing.T) {
	path := writeAll(t, "geojson", fixtureOptions(), fixtureRows())
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(raw) {
		t.Fatalf("invalid JSON:\n%s", raw)
	}
	var top map[string]json.RawMessage
	decodeUseNumber(t, raw, &top)
	if _, ok := top["crs"]; ok {
		t.Error(`RFC 7946: no "crs" member`)
	}
	var fc gjCollection
	decodeUseNumber(t, raw, &fc)
	if fc.Type != "FeatureCollection" {
		t.Errorf("type %q", fc.Type)
	}
	want := wantObjects()
	if len(fc.Features) != len(want) {
		t.Fatalf("%d features, want %d", len(fc.Features), len(want))
	}
	for i, f := range fc.Features {
		if f.Type != "Feature" {
			t.Errorf("feature %d type %q", i, f.Type)
		}
		if wantID := string(want[i]["id"].(json.Number)); string(f.ID) != wantID {
			t.Errorf("feature %d id %s, want %s (a number)", i, f.ID, wantID)
		}
		props := want[i]
		delete(props, "geom")
		if !reflect.DeepEqual(f.Properties, map[string]any(props)) {
			t.Errorf("feature %d properties\n got %#v\nwant %#v", i, f.Properties, props)
		}
	}

	geomOf := func(i int) gjGeometry {
		var g gjGeometry
		if string(fc.Features[i].Geometry) == "null" {
			return g
		}
		decodeUseNumber(t, fc.Features[i].Geometry, &g)
		var coords any
		decodeUseNumber(t, g.Coordinates, &coords)
		checkDecimals(t, coords, 7)
		return g
	}
	// Polygon with a hole: exterior made counter-clockwise, hole clockwise,
	// coordinates rounded to 7 decimals.
	g := geomOf(0)
	if g.Type != "Polygon" {
		t.Fatalf("feature 0 geometry type %q", g.Type)
	}
	var rings [][][]float64
	json.Unmarshal(g.Coordinates, &rings)
	if len(rings) != 2 {
		t.Fatalf("polygon has %d rings, want 2", len(rings))
	}
	checkPolygonRings(t, "polygon", rings)
	if !strings.Contains(string(g.Coordinates), "-122.1234568") || strings.Contains(string(g.Coordinates), "-122.123456789") {
		t.Errorf("coordinates not rounded to 7 decimals: %s", g.Coordinates)
	}
	// Multipolygon: both parts counter-clockwise.
	g = geomOf(1)
	if g.Type != "MultiPolygon" {
		t.Fatalf("feature 1 geometry type %q", g.Type)
	}
	var polys [][][][]float64
	json.Unmarshal(g.Coordinates, &polys)
	if len(polys) != 2 {
		t.Fatalf("multipolygon has %d parts", len(polys))
	}
	for _, p := range polys {
		checkPolygonRings(t, "multipolygon part", p)
	}
	// Empty, unparsed and NULL geometries, and a row without one: null.
	for _, i := range []int{2, 3, 4, 6} {
		if s := string(fc.Features[i].Geometry); s != "null" {
			t.Errorf("feature %d geometry %s, want null", i, s)
		}
	}
	if g = geomOf(5); g.Type != "Point" || string(g.Coordinates) != "[1.5,-2.25]" {
		t.Errorf("point: %+v", g)
	}

	s := string(raw)
	if !strings.HasPrefix(s, "{\"type\":\"FeatureCollection\",\"features\":[\n{\"type\":\"Feature\",\"id\":1,\"geometry\":{") ||
		!strings.HasSuffix(s, "}}\n]}\n") || strings.Count(s, "\n") != len(want)+2 {
		t.Errorf("layout:\n%s", s)
	}
}

func TestGeoJSONIDs(t *testing.T) {
	schema := &record.Schema{Columns: []record.Column{
		{Name: "code", Kind: record.Text}, {Name: "g", Kind: record.Geometry},
	}}
	rows := []record.Row{
		{record.TextValue(`A-"1"`), record.Value{}},
		{record.Value{}, record.Value{}},
	}
	for _, tc := range []struct {
		keys []string
		want []string
	}{
		{[]string{"code"}, []string{`"A-\"1\""`, ""}},
		{nil, []string{"", ""}},
	} {
		path := writeAll(t, "geojson", Options{Dataset: "d", Schema: schema, KeyColumns: tc.keys, GeometryColumn: "g"}, rows)
		raw, _ := os.ReadFile(path)
		var fc struct {
			Features []map[string]json.RawMessage `json:"features"`
		}
		decodeUseNumber(t, raw, &fc)
		for i, f := range fc.Features {
			id, ok := f["id"]
			if tc.want[i] == "" {
				if ok {
					t.Errorf("keys %v feature %d: id %s, want no id member", tc.keys, i, id)
				}
			} else if string(id) != tc.want[i] {
				t.Errorf("keys %v feature %d: id %s, want %s", tc.keys, i, id, tc.want[i])
			}
			if _, ok := f["g"]; ok {
				t.Error("geometry column repeated")
			}
		}
	}
}

func TestGeoJSONNoGeometryColumnAndEmpty(t *testing.T) {
	schema := &record.Schema{Columns: []record.Column{{Name: "id", Kind: record.Int}}}
	path := writeAll(t, "geojson", Options{Dataset: "d", Schema: schema, KeyColumns: []string{"id"}}, []record.Row{{record.IntValue(9)}})
	raw, _ := os.ReadFile(path)
	want := "{\"type\":\"FeatureCollection\",\"features\":[\n{\"type\":\"Feature\",\"id\":9,\"geometry\":null,\"properties\":{\"id\":9}}\n]}\n"
	if string(raw) != want {
		t.Errorf("got %q\nwant %q", raw, want)
	}
	path = writeAll(t, "geojson", Options{Dataset: "d", Schema: schema}, nil)
	raw, _ = os.ReadFile(path)
	if string(raw) != "{\"type\":\"FeatureCollection\",\"features\":[]}\n" {
		t.Errorf("empty: got %q", raw)
	}
}

func TestGeoJSONPrecision(t *testing.T) {
	opts := fixtureOptions()
	opts.Precision = 3
	path := writeAll(t, "geojson", opts, fixtureRows()[:1])
	raw, _ := os.ReadFile(path)
	if !strings.Contains(string(raw), "-122.123,") {
		t.Errorf("precision 3 not applied: %s", raw)
	}
}

func TestGeoJSONErrorNamesRow(t *testing.T) {
	p := geom.NewPoint(geom.XY).MustSetCoords(geom.Coord{500000, 4000000}).SetSRID(26910) // UTM: not WGS 84
	row := fixtureRows()[0]
	row[0] = record.IntValue(17)
	row[14] = geomValue(p)
	w, err := New("geojson", filepath.Join(t.TempDir(), "x.geojson"), fixtureOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	err = w.WriteRow(row)
	if err == nil {
		t.Fatal("no error for a UTM geometry")
	}
	if !strings.HasPrefix(err.Error(), "dataset parcels, column geom, id=17: ") {
		t.Errorf("error %q does not name dataset, column and key", err)
	}
	if errors.Unwrap(err) == nil {
		t.Error("error does not wrap the cause")
	}
}
