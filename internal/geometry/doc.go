// Package geometry decodes the geometry values sources hand us (WKT, EWKT,
// WKB, EWKB, hex WKB, PostGIS geometry, GeoPackage blobs) into go-geom
// values, and encodes them as PostGIS-style WKT, as RFC 7946 GeoJSON
// geometry objects (lon/lat, exterior rings counter-clockwise, holes
// clockwise, a fixed number of decimals) and as GeoPackage geometry blobs
// (ISO WKB in lon/lat, with the envelope).
//
// # Why the codecs are hand-written
//
// go-geom has encoders and decoders for all of these. The ones here exist
// for what go-geom does not do (PostGIS's WKT spelling, "POLYGON((0 0,1
// 0,1 1,0 0))" where go-geom writes "POLYGON ((0 0, 1 0, 1 1, 0 0))";
// RFC 7946 winding; PostGIS's checks on decode) and for speed, measured
// by the benchmarks in bench_test.go, which run both on the same input.
// Medians of 5 runs (go test -bench 'EWKB/|WKT/|GeoJSON/' -benchmem
// -count 5; Go 1.26, AMD EPYC, 2 shared cores), ns per geometry and
// allocations, hand-written vs go-geom:
//
//	                  13-vertex polygon                  1,000-vertex polygon
//	EWKB decode       253 ns, 3     vs    653 ns, 11    7.6 µs, 3   vs  21 µs, 11     (2.6×, 2.8×)
//	WKT parse         1.3 µs, 3     vs   11.6 µs, 66    118 µs, 3   vs 557 µs, 6010   (8.6×, 4.7×)
//	WKT write         669 ns, 0     vs    2.1 µs, 7     52 µs, 0    vs 237 µs, 20     (3.1×, 4.5×)
//	GeoJSON write     703 ns, 0     vs    9.5 µs, 56    53 µs, 0    vs 659 µs, 3032   (13.5×, 12.4×)
//
// The GeoJSON writer also checks ring winding, which go-geom's does not.
// These ratios show in whole runs: in a profile of a four-format export of
// 200,000 parcels (BENCHMARKS.md, "Where the time goes"), formatting WKT
// took 26% of the CPU.
package geometry
