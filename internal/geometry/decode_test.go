package geometry_test

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/twpayne/go-geom"

	"github.com/countydatasync/countysync/internal/geometry"
	"github.com/countydatasync/countysync/internal/record"
)

// TestDecodeWKTVariants covers spellings PostGIS accepts; the expected
// text and SRID are PostGIS 3.3's ST_AsText and ST_SRID of the same input
// (verified once with psql, recorded here).
func TestDecodeWKTVariants(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		srid     int
	}{
		{"point(1 2)", "POINT(1 2)", 0},
		{"  Point ( 1   2 )  ", "POINT(1 2)", 0},
		{"POINTZ(1 2 3)", "POINT Z (1 2 3)", 0},
		{"POINTM(1 2 3)", "POINT M (1 2 3)", 0},
		{"pointzm(1 2 3 4)", "POINT ZM (1 2 3 4)", 0},
		{"POINT(1 2 3)", "POINT Z (1 2 3)", 0},
		{"POINT(1 2 3 4)", "POINT ZM (1 2 3 4)", 0},
		{"MULTIPOINT(1 2,3 4)", "MULTIPOINT((1 2),(3 4))", 0},
		{"MULTIPOINT((1 2),3 4)", "MULTIPOINT((1 2),(3 4))", 0},
		{"MULTIPOINT Z (1 2 3,4 5 6)", "MULTIPOINT Z ((1 2 3),(4 5 6))", 0},
		{"multipoint empty", "MULTIPOINT EMPTY", 0},
		{"SRID=4326;POINT(1 2)", "POINT(1 2)", 4326},
		{"srid=3857;POINT(1 2)", "POINT(1 2)", 3857},
		{"GEOMETRYCOLLECTION Z (POINT(1 2 3),LINESTRING(0 0 0,1 1 1))", "GEOMETRYCOLLECTION Z (POINT Z (1 2 3),LINESTRING Z (0 0 0,1 1 1))", 0},
		{"GEOMETRYCOLLECTION(POINT Z (1 2 3))", "GEOMETRYCOLLECTION Z (POINT Z (1 2 3))", 0},
		{"GEOMETRYCOLLECTION(POINT EMPTY)", "GEOMETRYCOLLECTION(POINT EMPTY)", 0},
		{"GEOMETRYCOLLECTION Z EMPTY", "GEOMETRYCOLLECTION Z EMPTY", 0},
		{"POLYGON Z ((0 0 0,1 0 0,1 1 0,0 0 1))", "POLYGON Z ((0 0 0,1 0 0,1 1 0,0 0 1))", 0},
		{"POINT(-0.0 1e-400)", "POINT(0 0)", 0},
		{"LINESTRING(1e3 -2.5E-3,1 0.5)", "LINESTRING(1000 -0.0025,1 0.5)", 0},
		// Not accepted by PostGIS, accepted here: explicit '+' and bare '.5'.
		{"LINESTRING(+1 .5,2 2)", "LINESTRING(1 0.5,2 2)", 0},
		{"SRID=0;POINT(1 2)", "POINT(1 2)", 0},
		{"\tMULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)) ,EMPTY)\n", "MULTIPOLYGON(((0 0,1 0,1 1,0 0)),EMPTY)", 0},
	} {
		g, err := geometry.Decode(wktValue(tc.in))
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := string(geometry.AppendWKT(nil, g)); got != tc.want {
			t.Errorf("%q: got %s, want %s", tc.in, got, tc.want)
		}
		if g.SRID() != tc.srid {
			t.Errorf("%q: SRID %d, want %d", tc.in, g.SRID(), tc.srid)
		}
	}
}

// TestDecodeForms checks the containers a geometry can arrive in.
func TestDecodeForms(t *testing.T) {
	ewkb := "0101000020e6100000000000000000f03f0000000000000040" // SRID=4326;POINT(1 2)
	gpkg := mustHex(t, "4750000"+"3"+"e6100000"+strings.Repeat("00", 32)+"0101000000000000000000f03f0000000000000040")
	point := geom.NewPointFlat(geom.XY, []float64{5, 6})
	for _, tc := range []struct {
		name string
		v    record.Value
		want string
		srid int
	}{
		{"EWKT", record.Value{Kind: record.Geometry, S: "SRID=4326;POINT(1 2)"}, "POINT(1 2)", 4326},
		{"hex EWKB upper case", record.Value{Kind: record.Geometry, S: strings.ToUpper(ewkb)}, "POINT(1 2)", 4326},
		{"bytea escape", record.Value{Kind: record.Geometry, S: `\x` + ewkb}, "POINT(1 2)", 4326},
		{"hex with spaces", record.Value{Kind: record.Geometry, S: " " + ewkb + "\n"}, "POINT(1 2)", 4326},
		{"WKT in a BLOB", record.Value{Kind: record.Geometry, B: []byte("POINT(1 2)")}, "POINT(1 2)", 0},
		{"hex in a BLOB", record.Value{Kind: record.Geometry, B: []byte(ewkb)}, "POINT(1 2)", 4326},
		{"GeoPackage blob", record.Value{Kind: record.Geometry, B: gpkg}, "POINT(1 2)", 4326},
		{"Text kind", record.Value{Kind: record.Text, S: "POINT(1 2)"}, "POINT(1 2)", 0},
		{"Bytes kind", record.Value{Kind: record.Bytes, B: mustHex(t, ewkb)}, "POINT(1 2)", 4326},
		{"already decoded", record.Value{Kind: record.Geometry, S: "garbage", G: point}, "POINT(5 6)", 0},
	} {
		g, err := geometry.Decode(&tc.v)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := string(geometry.AppendWKT(nil, g)); got != tc.want || g.SRID() != tc.srid {
			t.Errorf("%s: got %s SRID %d, want %s SRID %d", tc.name, got, g.SRID(), tc.want, tc.srid)
		}
	}
}

// wkbPoint builds little-endian WKB of a point with the given type word.
func wkbPoint(typ uint32, coords ...float64) []byte {
	b := []byte{1, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(b[1:], typ)
	for _, c := range coords {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c))
	}
	return b
}

// TestDecodeWKBDimensions checks every way WKB can say Z and M.
func TestDecodeWKBDimensions(t *testing.T) {
	for _, tc := range []struct {
		typ  uint32
		n    int
		want string
	}{
		{1, 2, "POINT(1 2)"},
		{1001, 3, "POINT Z (1 2 3)"},
		{2001, 3, "POINT M (1 2 3)"},
		{3001, 4, "POINT ZM (1 2 3 4)"},
		{0x80000001, 3, "POINT Z (1 2 3)"},
		{0x40000001, 3, "POINT M (1 2 3)"},
		{0xC0000001, 4, "POINT ZM (1 2 3 4)"},
	} {
		g, err := geometry.Decode(wkbValue(wkbPoint(tc.typ, []float64{1, 2, 3, 4}[:tc.n]...)))
		if err != nil {
			t.Errorf("type %#x: %v", tc.typ, err)
			continue
		}
		if got := string(geometry.AppendWKT(nil, g)); got != tc.want {
			t.Errorf("type %#x: got %s, want %s", tc.typ, got, tc.want)
		}
	}
}

// TestDecodeErrors pins the error of each kind of bad input.
func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    record.Value
		want string
	}{
		// WKT
		{"WKT unclosed paren", wktOf("POINT(1 2"), "WKT: expected ')' at position 9"},
		{"WKT unclosed list", wktOf("MULTIPOINT((1 2),(3 4)"), "WKT: expected ',' or ')' at position 22"},
		{"WKT one ordinate", wktOf("POINT(1)"), "WKT: expected a coordinate of at least 2 numbers at position 7"},
		{"WKT five ordinates", wktOf("POINT(1 2 3 4 5)"), "WKT: too many ordinates at position 14"},
		{"WKT Z without z", wktOf("POINT Z (1 2)"), "WKT: can not mix dimensions: coordinate has 2 numbers, XYZ needs 3 at position 9"},
		{"WKT mixed dimensions", wktOf("LINESTRING(0 0,1 1 1)"), "WKT: can not mix dimensions: coordinate has 3 numbers, XY needs 2 at position 15"},
		{"WKT mixed collection", wktOf("GEOMETRYCOLLECTION(POINT EMPTY,POINT(1 2 3))"), "WKT: can not mix dimensions XY and XYZ in a GEOMETRYCOLLECTION at position 19"},
		{"WKT ring not closed", wktOf("POLYGON((0 0,1 0,1 1,0 1))"), "WKT: ring not closed: starts at (0 0), ends at (0 1) (ring 0 at position 9)"},
		{"WKT short ring", wktOf("POLYGON((0 0,1 1,0 0))"), "WKT: ring 0 has 3 points; a ring needs at least 4 at position 9"},
		{"WKT short linestring", wktOf("LINESTRING(0 0)"), "WKT: linestring has 1 point; needs at least 2 at position 11"},
		{"WKT NaN", wktOf("POINT(NaN 1)"), "WKT: coordinate is NaN at position 6"},
		{"WKT -Infinity", wktOf("POINT(1 -Infinity)"), "WKT: coordinate is infinite at position 8"},
		{"WKT overflow", wktOf("POINT(1e400 1)"), "WKT: coordinate is infinite (1e400) at position 6"},
		{"WKT bad number", wktOf("POINT(1..2 3)"), `WKT: invalid number "1..2" at position 6`},
		{"WKT trailing text", wktOf("POINT(1 2) x"), `WKT: unexpected "x" after the geometry at position 11`},
		{"WKT unknown type", wktOf("CIRCLE(1 2)"), `WKT: unknown geometry type "CIRCLE" at position 0`},
		{"WKT missing member", wktOf("GEOMETRYCOLLECTION(POINT(1 2),)"), `WKT: expected a geometry type, found ")" at position 30`},
		{"WKT bad SRID", wktOf("SRID=abc;POINT(1 2)"), `WKT: invalid SRID "abc" at position 5`},
		{"WKT SRID without ;", wktOf("SRID=4326POINT(1 2)"), "WKT: expected ';' after SRID at position 19"},
		{"WKT deep nesting", wktOf(strings.Repeat("GEOMETRYCOLLECTION(", 40) + "POINT(1 2)" + strings.Repeat(")", 40)), "WKT: geometry collections nested more than 32 deep at position 627"},
		// WKB
		{"WKB truncated point", wkbOf("0101000000000000000000f03f"), "truncated WKB: need 16 bytes at offset 5, have 8"},
		{"WKB truncated header", wkbOf("01010000"), "truncated WKB: need 5 bytes at offset 0, have 4"},
		{"WKB absurd count", wkbOf("0102000000ffffffff"), "truncated WKB: need 68719476720 bytes at offset 9, have 0"},
		{"WKB absurd ring count", wkbOf("0103000000ffffff7f"), "truncated WKB: need 8589934588 bytes at offset 9, have 0"},
		{"WKB absurd collection", wkbOf("0107000000ffffffff"), "truncated WKB: need 38654705655 bytes at offset 9, have 0"},
		{"WKB byte order", wkbOf("0209000000"), "WKB: invalid byte order 2 at offset 0 (want 0 or 1)"},
		{"WKB curve", wkbOf("0109000000"), "WKB: unsupported geometry type COMPOUNDCURVE at offset 1"},
		{"WKB unknown type", wkbOf("0163000000"), "WKB: unknown geometry type 99 at offset 1"},
		{"WKB NaN", wkbOf("0101000000000000000000f87f0000000000000000"), "coordinate is NaN at WKB offset 5"},
		{"WKB Inf", wkbOf("0101000000" + "0000000000000000" + "000000000000f0ff"), "coordinate is infinite at WKB offset 13"},
		{"WKB NaN in ring", wkbOf("01030000000100000004000000000000000000f87f0000000000000000000000000000f03f000000000000f03f000000000000f03f000000000000f03f00000000000000000000000000000000"), "coordinate is NaN at WKB offset 13"},
		{"WKB ring not closed", wkbOf("010300000001000000040000000000000000000000000000000000000000000000000000000000000000000000000000000000f03f000000000000f03f000000000000f03f000000000000f03f"), "ring not closed: starts at (0 0), ends at (1 1) (ring 0 at WKB offset 9)"},
		{"WKB short ring", wkbOf("010300000001000000030000000000000000000000000000000000000000000000000000000000000000000000000000000000f03f00000000000000000000000000000000"), "WKB: ring 0 at offset 9 has 3 points; a ring needs at least 4"},
		{"WKB short linestring", wkbOf("01020000000100000000000000000000000000000000000000"), "WKB: LINESTRING at offset 5 has 1 point; needs at least 2"},
		{"WKB trailing bytes", wkbOf("010100000000000000000000000000000000000000ff"), "WKB: 1 unexpected bytes after the geometry at offset 21"},
		{"WKB wrong member", wkbOf("0106000000010000000101000000000000000000f03f0000000000000040"), "WKB: MULTIPOLYGON member at offset 9 is POINT, want POLYGON"},
		{"WKB member dimensions", wkbOf("0107000080010000000101000000000000000000f03f0000000000000040"), "WKB: GEOMETRYCOLLECTION Z member at offset 9 has dimensions XY"},
		{"WKB deep nesting", wkbValueOf(deepCollection(40)), "WKB: geometry collections nested more than 32 deep"},
		{"hex odd", wktOf("0101000"), "hex WKB: odd number of hex digits (7)"},
		{"hex bad digit", wktOf("0101zz"), "hex WKB: invalid hex digit 'z' at position 4"},
		{"hex truncated", wktOf("01010000"), "hex-encoded WKB: truncated WKB: need 5 bytes at offset 0, have 4"},
		{"GeoPackage envelope", wkbOf("4750000a00000000"), "GeoPackage blob: invalid envelope code 5"},
		{"GeoPackage truncated", wkbOf("47500003e6100000"), "truncated WKB: need 32 bytes at offset 8, have 0"},
		// Values
		{"NULL", record.Value{}, "geometry is NULL"},
		{"integer", record.IntValue(3), "a integer value is not a geometry"},
		{"empty", record.Value{Kind: record.Geometry}, "geometry value is empty"},
	} {
		g, err := geometry.Decode(&tc.v)
		if err == nil {
			t.Errorf("%s: no error, got %s", tc.name, geometry.AppendWKT(nil, g))
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, err, tc.want)
		}
	}
}

// TestRingNotClosedIsWrapped lets callers classify the error.
func TestRingNotClosedIsWrapped(t *testing.T) {
	_, err := geometry.Decode(ptr(wktOf("POLYGON((0 0,1 0,1 1,0 1))")))
	if err == nil || !strings.Contains(err.Error(), "ring not closed") {
		t.Fatalf("got %v", err)
	}
	var target interface{ Unwrap() error }
	if !errors.As(err, &target) {
		t.Errorf("error %v wraps nothing", err)
	}
}

// TestDecodeEmptyPointInWKB: PostGIS writes POINT EMPTY as NaN NaN.
func TestDecodeEmptyPointInWKB(t *testing.T) {
	g, err := geometry.Decode(wkbValue(wkbPoint(1, math.NaN(), math.NaN())))
	if err != nil || !g.Empty() {
		t.Fatalf("got %v, %v", g, err)
	}
}

func ptr(v record.Value) *record.Value { return &v }

func wktOf(s string) record.Value { return record.Value{Kind: record.Geometry, S: s} }
func wkbOf(h string) record.Value {
	b, err := hex.DecodeString(h)
	if err != nil {
		panic(err)
	}
	return record.Value{Kind: record.Geometry, B: b}
}
func wkbValueOf(b []byte) record.Value { return record.Value{Kind: record.Geometry, B: b} }

// deepCollection nests n geometry collections around POINT(1 2).
func deepCollection(n int) []byte {
	var b []byte
	for range n {
		b = append(b, 1, 7, 0, 0, 0, 1, 0, 0, 0)
	}
	return append(b, wkbPoint(1, 1, 2)...)
}
