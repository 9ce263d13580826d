package geometry_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/twpayne/go-geom"

	"github.com/countydatasync/countysync/internal/geometry"
)

// Blobs written by hand from GeoPackage 1.3 §2.1.3 and ISO WKB: "GP",
// version 0, flags (bit 0 little endian, bits 1-3 envelope code, bit 4
// empty), SRS id 4326 (e6100000), envelope minx maxx miny maxy, WKB.
func TestAppendGeoPackageBytes(t *testing.T) {
	const (
		one = "000000000000f03f" // 1.0
		two = "0000000000000040" // 2.0
	)
	for _, tc := range []struct{ wkt, want string }{
		{"POINT(1 2)", "47500003e6100000" + one + one + two + two + "0101000000" + one + two},
		{"POLYGON EMPTY", "47500011e6100000" + "010300000000000000"},
		{"GEOMETRYCOLLECTION EMPTY", "47500011e6100000" + "010700000000000000"},
		{"LINESTRING Z (1 2 1,2 1 2)", "47500003e6100000" + one + two + one + two +
			"01ea030000" + "02000000" + one + two + one + two + one + two},
	} {
		got, env, err := geometry.AppendGeoPackage([]byte("x"), decodeWKT(t, tc.wkt))
		if err != nil {
			t.Fatalf("%s: %v", tc.wkt, err)
		}
		if want := "78" + tc.want; hex.EncodeToString(got) != want {
			t.Errorf("%s:\n got %x\nwant %s", tc.wkt, got, want)
		}
		if env.IsEmpty() != strings.Contains(tc.wkt, "EMPTY") {
			t.Errorf("%s: envelope %+v", tc.wkt, env)
		}
	}
	// POINT EMPTY: empty flag, no envelope, NaN coordinates.
	got, _, err := geometry.AppendGeoPackage(nil, decodeWKT(t, "POINT EMPTY"))
	if err != nil || !bytes.HasPrefix(got, mustHex(t, "47500011e6100000"+"0101000000")) || len(got) != 8+5+16 ||
		!math.IsNaN(math.Float64frombits(binary.LittleEndian.Uint64(got[13:]))) || !math.IsNaN(math.Float64frombits(binary.LittleEndian.Uint64(got[21:]))) {
		t.Errorf("POINT EMPTY: %x %v, want 47500011e6100000 0101000000 and two NaN", got, err)
	}
}

// ISO WKB type codes: 1000 + type for Z, 2000 for M, 3000 for ZM, in the
// members of multi-geometries too.
func TestAppendGeoPackageISOTypeCodes(t *testing.T) {
	for _, tc := range []struct {
		wkt          string
		code, member uint32
	}{
		{"POINT(1 2)", 1, 0}, {"POINT Z (1 2 3)", 1001, 0}, {"POINT M (1 2 3)", 2001, 0}, {"POINT ZM (1 2 3 4)", 3001, 0},
		{"LINESTRING ZM (0 0 1 2,1 1 2 3)", 3002, 0},
		{"POLYGON Z ((0 0 1,1 0 1,1 1 1,0 0 1))", 1003, 0}, {"POLYGON M ((0 0 1,1 0 1,1 1 1,0 0 1))", 2003, 0},
		{"MULTIPOINT Z ((1 2 3))", 1004, 1001}, {"MULTILINESTRING M ((0 0 1,1 1 2))", 2005, 2002},
		{"MULTIPOLYGON Z (((0 0 1,1 0 1,1 1 1,0 0 1)))", 1006, 1003}, {"GEOMETRYCOLLECTION ZM (POINT ZM (1 2 3 4))", 3007, 3001},
	} {
		got, _, err := geometry.AppendGeoPackage(nil, decodeWKT(t, tc.wkt))
		if err != nil {
			t.Fatalf("%s: %v", tc.wkt, err)
		}
		if got[3] != 0x03 {
			t.Errorf("%s: flags %#x, want 0x03 (little endian, XY envelope)", tc.wkt, got[3])
		}
		wkb := got[8+32:]
		if wkb[0] != 1 || binary.LittleEndian.Uint32(wkb[1:]) != tc.code {
			t.Errorf("%s: WKB starts %x, want byte order 1 and type %d", tc.wkt, wkb[:5], tc.code)
		}
		// A multi-geometry: type, count, then the first member's header.
		if tc.member != 0 && binary.LittleEndian.Uint32(wkb[10:]) != tc.member {
			t.Errorf("%s: member type %d, want %d", tc.wkt, binary.LittleEndian.Uint32(wkb[10:]), tc.member)
		}
	}
}

// bounds is go-geom's Bounds, which panics on nested collections, applied
// to the leaves: an envelope computed independently of the package's.
func bounds(g geom.T) *geom.Bounds {
	gc, ok := g.(*geom.GeometryCollection)
	if !ok {
		return g.Bounds()
	}
	b := geom.NewBounds(geom.XY)
	for _, m := range gc.Geoms() {
		if mb := bounds(m); !mb.IsEmpty() {
			b.Extend(geom.NewPointFlat(geom.XY, []float64{mb.Min(0), mb.Min(1)}))
			b.Extend(geom.NewPointFlat(geom.XY, []float64{mb.Max(0), mb.Max(1)}))
		}
	}
	return b
}

// viaGeoPackage encodes g as a GeoPackage blob and decodes the blob with
// the package's own decoder.
func viaGeoPackage(t *testing.T, g geom.T) ([]byte, geometry.Envelope, geom.T) {
	t.Helper()
	blob, env, err := geometry.AppendGeoPackage(nil, g)
	if err != nil {
		t.Fatalf("%s: %v", geometry.AppendWKT(nil, g), err)
	}
	out, err := geometry.Decode(wkbValue(blob))
	if err != nil {
		t.Fatalf("%s: decode %x: %v", geometry.AppendWKT(nil, g), blob, err)
	}
	return blob, env, out
}

// Every geometry the decoder reads comes back the same through a
// GeoPackage blob and the package's own decoder, with SRID 4326 and the
// envelope go-geom computes.
func TestAppendGeoPackageRoundTrip(t *testing.T) {
	for _, s := range []string{
		"POINT(-77.0365298 38.8976763)", "POINT Z (1 2 3)", "POINT M (1 2 3)", "POINT ZM (1 2 3 4)", "POINT EMPTY",
		"LINESTRING(0 0,1 1,2 0.5)", "LINESTRING EMPTY", "LINESTRING Z (0 0 0,1 1 1)",
		"POLYGON((0 0,0 10,10 10,10 0,0 0),(2 2,4 2,4 4,2 4,2 2))", "POLYGON Z ((0 0 5,0 1 5,1 1 5,0 0 5))",
		"POLYGON M ((0 0 5,0 1 5,1 1 5,0 0 5))", "POLYGON EMPTY",
		"MULTIPOINT(EMPTY,(1 2),(3 4))", "MULTIPOINT EMPTY", "MULTILINESTRING((0 0,1 1),EMPTY,(2 2,3 3))",
		"MULTIPOLYGON(((0 0,0 1,1 1,0 0)),EMPTY,((5 5,6 5,6 6,5 5),(5.2 5.1,5.8 5.7,5.8 5.1,5.2 5.1)))",
		"MULTIPOLYGON ZM (((0 0 1 2,0 1 1 2,1 1 1 2,0 0 1 2)))",
		"GEOMETRYCOLLECTION(POINT(1 2),POINT EMPTY,LINESTRING(0 0,1 1))", "GEOMETRYCOLLECTION EMPTY",
		"GEOMETRYCOLLECTION Z (POINT Z (1 2 3),POLYGON Z ((0 0 0,0 1 0,1 1 0,0 0 0)))",
		"GEOMETRYCOLLECTION(GEOMETRYCOLLECTION(POLYGON((0 0,0 1,1 1,0 0))),GEOMETRYCOLLECTION EMPTY)",
		"SRID=4326;POINT(1e-300 -1e300)", polygon13,
	} {
		in := decodeWKT(t, s)
		blob, env, out := viaGeoPackage(t, in)
		if got, want := string(geometry.AppendWKT(nil, out)), string(geometry.AppendWKT(nil, in)); got != want {
			t.Errorf("%s: round trip gives %s", want, got)
		}
		if out.SRID() != 4326 {
			t.Errorf("%s: SRID %d", s, out.SRID())
		}
		b := bounds(in)
		if b.IsEmpty() != env.IsEmpty() || (blob[3]&0x10 != 0) != env.IsEmpty() {
			t.Errorf("%s: envelope %+v, empty flag %v, go-geom bounds %v", s, env, blob[3]&0x10 != 0, b)
		} else if !b.IsEmpty() {
			want := [4]float64{b.Min(0), b.Max(0), b.Min(1), b.Max(1)}
			if got := [4]float64{env.MinX, env.MaxX, env.MinY, env.MaxY}; got != want {
				t.Errorf("%s: envelope %v, want %v", s, got, want)
			}
			var hdr [4]float64
			for i := range hdr {
				hdr[i] = math.Float64frombits(binary.LittleEndian.Uint64(blob[8+8*i:]))
			}
			if hdr != want {
				t.Errorf("%s: header envelope %v, want %v", s, hdr, want)
			}
		}
	}
}

// Web mercator is converted to the lon/lat GeoJSON writes (PostGIS's
// values); the input is not modified.
func TestAppendGeoPackageWebMercator(t *testing.T) {
	for _, tc := range webMercatorPostGIS {
		in := geom.NewMultiPointFlat(geom.XYZ, []float64{tc.x, tc.y, 7, 0, 0, 1}).SetSRID(3857)
		_, env, out := viaGeoPackage(t, in)
		c := out.FlatCoords()
		if math.Abs(c[0]-tc.lon) > 1e-9 || math.Abs(c[1]-tc.lat) > 1e-9 || c[2] != 7 || c[3] != 0 || c[4] != 0 || c[5] != 1 {
			t.Errorf("(%v %v): got %v, want (%v %v 7, 0 0 1)", tc.x, tc.y, c, tc.lon, tc.lat)
		}
		if env.MinX != min(c[0], 0) || env.MaxY != max(c[1], 0) {
			t.Errorf("(%v %v): envelope %+v in other coordinates than %v", tc.x, tc.y, env, c)
		}
		if in.FlatCoords()[0] != tc.x || in.SRID() != 3857 {
			t.Errorf("input modified: %v SRID %d", in.FlatCoords(), in.SRID())
		}
		// The same coordinates as the GeoJSON writer's.
		gj, err := geometry.AppendGeoJSON(nil, in, 12)
		if err != nil {
			t.Fatal(err)
		}
		var p struct{ Coordinates [][]float64 }
		if err := json.Unmarshal(gj, &p); err != nil {
			t.Fatal(err)
		}
		if math.Abs(p.Coordinates[0][0]-c[0]) > 1e-12 || math.Abs(p.Coordinates[0][1]-c[1]) > 1e-12 {
			t.Errorf("GeoJSON %v, GeoPackage %v", p.Coordinates[0], c[:2])
		}
	}
	_, _, out := viaGeoPackage(t, decodeWKT(t, "SRID=3857;GEOMETRYCOLLECTION(POINT(-8576213.33 4706548.12),POINT EMPTY)"))
	gj, _ := geometry.AppendGeoJSON(nil, out, 7)
	if want := `{"type":"GeometryCollection","geometries":[{"type":"Point","coordinates":[-77.0414351,38.8943411]}]}`; string(gj) != want {
		t.Errorf("collection: %s, want %s", gj, want)
	}
}

func TestAppendGeoPackageErrors(t *testing.T) {
	dst := []byte("keep")
	got, env, err := geometry.AppendGeoPackage(dst, decodeWKT(t, "SRID=2263;POINT(987654.321 123456.789)"))
	want := "geometry has SRID 2263; GeoPackage needs WGS 84 lon/lat (EPSG:4326) and it was not reprojected"
	if err == nil || err.Error() != want || string(got) != "keep" || !env.IsEmpty() {
		t.Errorf("SRID 2263: %q %v %+v, want %s and dst unchanged", got, err, env, want)
	}
	for _, g := range []geom.T{
		geom.NewPointFlat(geom.XY, []float64{math.NaN(), 1}),
		geom.NewLineStringFlat(geom.XYZ, []float64{0, 0, 0, 1, 1, math.Inf(1)}),
	} {
		if got, _, err := geometry.AppendGeoPackage(dst, g); err == nil || string(got) != "keep" {
			t.Errorf("non-finite %v: %q %v", g.FlatCoords(), got, err)
		}
	}
	if _, _, err := geometry.AppendGeoPackage(nil, geom.NewLinearRing(geom.XY).MustSetCoords([]geom.Coord{{0, 0}, {1, 0}, {0, 1}, {0, 0}})); err == nil {
		t.Error("LinearRing (no WKB type): no error")
	}
}

func TestEnvelopeExtend(t *testing.T) {
	var e geometry.Envelope
	if !e.IsEmpty() {
		t.Fatal("zero envelope is not empty")
	}
	e.Extend(geometry.EnvelopeOf(decodeWKT(t, "POINT EMPTY")))
	if !e.IsEmpty() {
		t.Fatal("extended by an empty geometry")
	}
	e.Extend(geometry.EnvelopeOf(decodeWKT(t, "POINT(3 -4)")))
	e.Extend(geometry.EnvelopeOf(decodeWKT(t, "LINESTRING(-1 5,2 6)")))
	e.Extend(geometry.EnvelopeOf(decodeWKT(t, "GEOMETRYCOLLECTION(POINT EMPTY,POINT(0 -10))")))
	if e.IsEmpty() || e.MinX != -1 || e.MaxX != 3 || e.MinY != -10 || e.MaxY != 6 {
		t.Errorf("envelope %+v, want x -1..3, y -10..6", e)
	}
}
