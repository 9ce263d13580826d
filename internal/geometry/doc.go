// Package geometry decodes the geometry values sources hand us (WKT, EWKT,
// WKB, EWKB, hex WKB, PostGIS geometry, GeoPackage blobs) into go-geom
// values, and encodes them as PostGIS-style WKT, as RFC 7946 GeoJSON
// geometry objects (lon/lat, exterior rings counter-clockwise, holes
// clockwise, a fixed number of decimals) and as GeoPackage geometry blobs
// (ISO WKB in lon/lat, with the envelope).
package geometry
