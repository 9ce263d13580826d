package geometry_test

import (
	"math"
	"slices"
	"testing"

	"github.com/twpayne/go-geom"
	"github.com/twpayne/go-geom/encoding/ewkb"
	"github.com/twpayne/go-geom/encoding/geojson"
	"github.com/twpayne/go-geom/encoding/wkt"

	"github.com/countydatasync/countysync/internal/geometry"
	"github.com/countydatasync/countysync/internal/record"
)

// polygon13 is a 13-vertex parcel-sized polygon; polygon13EWKB is PostGIS's
// encode(ST_AsEWKB(polygon13::geometry, 'NDR'), 'hex') of it.
const (
	polygon13     = "SRID=4326;POLYGON((-77.0365298 38.8976763,-77.0362 38.8976,-77.0358 38.8977,-77.0355 38.898,-77.0354 38.8984,-77.0356 38.8988,-77.036 38.899,-77.0365 38.8991,-77.0369 38.8989,-77.0371 38.8985,-77.0372 38.898,-77.037 38.8977,-77.0365298 38.8976763))"
	polygon13EWKB = "0103000020e6100000010000000d00000015151681564253c07872970ee77243405f07ce19514253c0de718a8ee4724340984c158c4a4253c042cf66d5e772434083c0caa1454253c06de7fba9f1724340d1915cfe434253c0fb5c6dc5fe72434035ef3845474253c089d2dee00b734340fca9f1d24d4253c0508d976e1273434075931804564253c0b3ea73b5157343403c4ed1915c4253c0ec2fbb270f7343409fabadd85f4253c05eba490c0273434051da1b7c614253c06de7fba9f1724340ee7c3f355e4253c042cf66d5e772434015151681564253c07872970ee7724340"
)

func BenchmarkDecodeHexEWKB(b *testing.B) {
	v := record.Value{Kind: record.Geometry, S: polygon13EWKB}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := geometry.Decode(&v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeEWKBToGeoJSON is the GeoJSON writer's hot path: one
// PostGIS geometry in, one GeoJSON geometry object out.
func BenchmarkDecodeEWKBToGeoJSON(b *testing.B) {
	v := record.Value{Kind: record.Geometry, B: mustHex(b, polygon13EWKB)}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		g, err := geometry.Decode(&v)
		if err != nil {
			b.Fatal(err)
		}
		if buf, err = geometry.AppendGeoJSON(buf[:0], g, 7); err != nil {
			b.Fatal(err)
		}
	}
}

// The benchmarks below run the hand-written codecs and, as the baseline,
// go-geom's encoding packages on the same input: the 13-vertex parcel
// above and a 1,000-vertex polygon. go test -bench 'EWKB|WKT|GeoJSON'
// -benchmem shows the two side by side; the package documentation has
// the numbers.

// benchShape is one benchmark input in every form the codecs read.
type benchShape struct {
	name string
	g    geom.T
	ewkb []byte // PostGIS EWKB (NDR, with SRID)
	wkt  string // WKT without the SRID: go-geom does not read EWKT
}

func benchShapes(b *testing.B) []benchShape {
	b.Helper()
	p13, err := geometry.Decode(&record.Value{Kind: record.Geometry, B: mustHex(b, polygon13EWKB)})
	if err != nil {
		b.Fatal(err)
	}
	// polygon1000 is a closed ring of 1,000 distinct vertices, its
	// coordinates rounded to 7 decimals like surveyed data.
	const n = 1000
	flat := make([]float64, 0, 2*(n+1))
	for i := range n {
		a := 2 * math.Pi * float64(i) / n
		flat = append(flat, math.Round((-77.0365+0.01*math.Cos(a))*1e7)/1e7, math.Round((38.8977+0.01*math.Sin(a))*1e7)/1e7)
	}
	flat = append(flat, flat[0], flat[1])
	p1000 := geom.NewPolygonFlat(geom.XY, flat, []int{len(flat)}).SetSRID(4326)

	var shapes []benchShape
	for _, s := range []struct {
		name string
		g    geom.T
	}{{"polygon13", p13}, {"polygon1000", p1000}} {
		e, err := ewkb.Marshal(s.g, ewkb.NDR)
		if err != nil {
			b.Fatal(err)
		}
		shapes = append(shapes, benchShape{name: s.name, g: s.g, ewkb: e, wkt: string(geometry.AppendWKT(nil, s.g))})
	}
	return shapes
}

// sameCoords fails the benchmark unless both decoders read the same
// coordinates, so the comparison is of equal work.
func sameCoords(b *testing.B, want, got geom.T) {
	b.Helper()
	if !slices.Equal(want.FlatCoords(), got.FlatCoords()) || !slices.Equal(want.Ends(), got.Ends()) {
		b.Fatalf("decoders disagree: %v vs %v", want.FlatCoords()[:4], got.FlatCoords()[:4])
	}
}

func BenchmarkDecodeEWKB(b *testing.B) {
	for _, s := range benchShapes(b) {
		v := record.Value{Kind: record.Geometry, B: s.ewkb}
		b.Run(s.name+"/hand-written", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := geometry.Decode(&v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(s.name+"/go-geom", func(b *testing.B) {
			g, err := ewkb.Unmarshal(s.ewkb)
			if err != nil {
				b.Fatal(err)
			}
			sameCoords(b, s.g, g)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ewkb.Unmarshal(s.ewkb); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeWKT(b *testing.B) {
	for _, s := range benchShapes(b) {
		v := record.Value{Kind: record.Geometry, S: s.wkt}
		b.Run(s.name+"/hand-written", func(b *testing.B) {
			g, err := geometry.Decode(&v)
			if err != nil {
				b.Fatal(err)
			}
			sameCoords(b, s.g, g)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := geometry.Decode(&v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(s.name+"/go-geom", func(b *testing.B) {
			g, err := wkt.Unmarshal(s.wkt)
			if err != nil {
				b.Fatal(err)
			}
			sameCoords(b, s.g, g)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := wkt.Unmarshal(s.wkt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppendWKT: go-geom writes "POLYGON ((x y, x y))" where PostGIS
// (and AppendWKT) write "POLYGON((x y,x y))"; the work is the same.
func BenchmarkAppendWKT(b *testing.B) {
	for _, s := range benchShapes(b) {
		b.Run(s.name+"/hand-written", func(b *testing.B) {
			buf := make([]byte, 0, 64<<10)
			b.ReportAllocs()
			for b.Loop() {
				buf = geometry.AppendWKT(buf[:0], s.g)
			}
		})
		b.Run(s.name+"/go-geom", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := wkt.Marshal(s.g); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppendGeoJSON: both write 7 decimals at most; the hand-written
// writer also checks the winding of every ring (RFC 7946) and writes
// fixed decimals, which go-geom does not.
func BenchmarkAppendGeoJSON(b *testing.B) {
	for _, s := range benchShapes(b) {
		b.Run(s.name+"/hand-written", func(b *testing.B) {
			buf := make([]byte, 0, 64<<10)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = geometry.AppendGeoJSON(buf[:0], s.g, 7); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(s.name+"/go-geom", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := geojson.Marshal(s.g, geojson.EncodeGeometryWithMaxDecimalDigits(7)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
