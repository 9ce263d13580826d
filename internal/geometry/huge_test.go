package geometry

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/countydatasync/countysync/internal/record"
)

// A 1,000,000-vertex polygon (a county boundary at survey resolution is
// a tenth of that) decodes from WKB and WKT and encodes to GeoJSON and WKT
// whole: checked by parsing the GeoJSON back and counting.
func TestMillionVertexPolygon(t *testing.T) {
	if testing.Short() {
		t.Skip("large input")
	}
	const n = 1_000_000
	wkb := []byte{1}
	wkb = binary.LittleEndian.AppendUint32(wkb, 3) // polygon
	wkb = binary.LittleEndian.AppendUint32(wkb, 1) // one ring
	wkb = binary.LittleEndian.AppendUint32(wkb, n+1)
	var wkt strings.Builder
	wkt.WriteString("POLYGON((")
	for i := 0; i <= n; i++ {
		a := 2 * math.Pi * float64(i%n) / n
		x, y := -77+0.5*math.Cos(a), 38.8+0.5*math.Sin(a)
		wkb = binary.LittleEndian.AppendUint64(wkb, math.Float64bits(x))
		wkb = binary.LittleEndian.AppendUint64(wkb, math.Float64bits(y))
		if i > 0 {
			wkt.WriteByte(',')
		}
		wkt.WriteString(strconv.FormatFloat(x, 'f', -1, 64) + " " + strconv.FormatFloat(y, 'f', -1, 64))
	}
	wkt.WriteString("))")
	for name, v := range map[string]record.Value{
		"wkb": {Kind: record.Geometry, B: wkb},
		"wkt": {Kind: record.Geometry, S: wkt.String()},
	} {
		g, err := Decode(&v)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := len(g.FlatCoords()) / 2; got != n+1 {
			t.Fatalf("%s: %d vertices, want %d", name, got, n+1)
		}
		out, err := AppendGeoJSON(nil, g, 7)
		if err != nil {
			t.Fatal(err)
		}
		var obj struct {
			Type        string         `json:"type"`
			Coordinates [][][2]float64 `json:"coordinates"`
		}
		if err := json.Unmarshal(out, &obj); err != nil {
			t.Fatalf("%s: GeoJSON does not parse: %v", name, err)
		}
		if obj.Type != "Polygon" || len(obj.Coordinates) != 1 || len(obj.Coordinates[0]) != n+1 {
			t.Fatalf("%s: GeoJSON %s with %d rings", name, obj.Type, len(obj.Coordinates))
		}
		if w := AppendWKT(nil, g); strings.Count(string(w), ",") != n {
			t.Fatalf("%s: WKT has %d commas, want %d", name, strings.Count(string(w), ","), n)
		}
	}
}
