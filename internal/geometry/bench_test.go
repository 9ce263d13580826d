package geometry_test

import (
	"testing"

	"github.com/countydatasync/countysync/internal/geometry"
	"github.com/countydatasync/countysync/internal/record"
)

// polygon13 is a 13-vertex parcel-sized polygon; polygon13EWKB is PostGIS's
// encode(ST_AsEWKB(polygon13::geometry, 'NDR'), 'hex') of it.
const (
	polygon13     = "SRID=4326;POLYGON((-77.0365298 38.8976763,-77.0362 38.8976,-77.0358 38.8977,-77.0355 38.898,-77.0354 38.8984,-77.0356 38.8988,-77.036 38.899,-77.0365 38.8991,-77.0369 38.8989,-77.0371 38.8985,-77.0372 38.898,-77.037 38.8977,-77.0365298 38.8976763))"
	polygon13EWKB = "0103000020e6100000010000000d00000015151681564253c07872970ee77243405f07ce19514253c0de718a8ee4724340984c158c4a4253c042cf66d5e772434083c0caa1454253c06de7fba9f1724340d1915cfe434253c0fb5c6dc5fe72434035ef3845474253c089d2dee00b734340fca9f1d24d4253c0508d976e1273434075931804564253c0b3ea73b5157343403c4ed1915c4253c0ec2fbb270f7343409fabadd85f4253c05eba490c0273434051da1b7c614253c06de7fba9f1724340ee7c3f355e4253c042cf66d5e772434015151681564253c07872970ee7724340"
)

func BenchmarkDecodeEWKB(b *testing.B) {
	v := record.Value{Kind: record.Geometry, B: mustHex(b, polygon13EWKB)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := geometry.Decode(&v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeHexEWKB(b *testing.B) {
	v := record.Value{Kind: record.Geometry, S: polygon13EWKB}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := geometry.Decode(&v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeWKT(b *testing.B) {
	v := record.Value{Kind: record.Geometry, S: polygon13}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := geometry.Decode(&v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendGeoJSON(b *testing.B) {
	g := decodeWKT(b, polygon13)
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = geometry.AppendGeoJSON(buf[:0], g, 7); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendWKT(b *testing.B) {
	g := decodeWKT(b, polygon13)
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = geometry.AppendWKT(buf[:0], g)
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
