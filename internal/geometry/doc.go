// Package geometry decodes the geometry values sources hand us (WKT, EWKT,
// WKB, EWKB, hex WKB, PostGIS geometry) into go-geom values, and encodes
// them as PostGIS-style WKT and as RFC 7946 GeoJSON geometry objects
// (lon/lat, exterior rings counter-clockwise, holes clockwise, a fixed
// number of decimals).
package geometry
