// Package crs reprojects go-geom geometries between coordinate reference
// systems named by EPSG code, with PROJ (libproj, through
// github.com/twpayne/go-proj). It is the only package that links PROJ.
//
// A Transformer owns one PROJ context and caches one transformation per
// (source, target) pair; it is not safe for concurrent use, so each
// goroutine that reprojects (one pipeline stage per dataset render) has its
// own, and no call waits on another's lock.
//
// Axis order is always the one GIS files use (x = easting or longitude,
// y = northing or latitude), whatever order the EPSG definition gives:
// transformations are normalised for visualisation, as ogr2ogr's
// traditional GIS order does.
//
// # Accuracy
//
// PROJ picks the most accurate operation it has for the pair. Datum shifts
// that need grids (NAD27 to WGS 84 goes through NADCON's conus grid,
// shipped by Debian's proj-data as us_noaa_conus.tif) are as accurate as
// the grid (about 0.15 m in the conterminous US); where no grid is
// installed PROJ falls back to a ballpark operation, off by up to tens of
// metres for NAD27. HasGrids reports which case a pair gets, and the
// pipeline warns when it is a ballpark one. NAD83 to WGS 84 is taken as
// the null transformation (PROJ's EPSG choice, within about 1 m), which is
// what PostGIS's ST_Transform and ogr2ogr give too.
//
// # Cost
//
// BenchmarkTransform (EPSG:2263 to WGS 84, Go 1.26, PROJ 9.1.1, 2 shared
// cores, median of 3): 6.8 µs for a 13-vertex parcel, 390 µs for 1,000
// vertices, about 0.4 µs a vertex and 3 allocations a geometry: several
// times what writing the GeoJSON costs (geometry/doc.go), because PROJ
// checks each coordinate against the areas of use of the candidate
// operations. Creating a transformation reads proj.db once per pair and
// stage.
package crs
