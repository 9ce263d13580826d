package format

import (
	"encoding/hex"
	"strings"

	"github.com/twpayne/go-geom"

	"github.com/countydatasync/countysync/internal/geometry"
	"github.com/countydatasync/countysync/internal/record"
)

// appendWKT appends the WKT of a decoded geometry value (v.G != nil).
func appendWKT(dst []byte, v *record.Value) []byte {
	if v.W != nil {
		return append(dst, v.W...)
	}
	return geometry.AppendWKT(dst, v.G)
}

// appendGeoJSONGeometry appends the RFC 7946 geometry object of a decoded
// geometry value (v.G != nil) with the given number of decimals.
func appendGeoJSONGeometry(dst []byte, v *record.Value, decimals int) ([]byte, error) {
	return geometry.AppendGeoJSON(dst, lonLat(v), decimals)
}

// appendGeoPackageGeometry appends the GeoPackage geometry blob of a
// decoded geometry value (v.G != nil), in the lon/lat the GeoJSON writer
// writes, and returns the geometry's envelope.
func appendGeoPackageGeometry(dst []byte, v *record.Value) ([]byte, geometry.Envelope, error) {
	return geometry.AppendGeoPackage(dst, lonLat(v))
}

// lonLat returns the geometry of v in WGS 84 lon/lat: the stage's
// reprojected copy when it made one, else the geometry itself.
func lonLat(v *record.Value) geom.T {
	if v.L != nil {
		return v.L
	}
	return v.G
}

// appendUndecoded appends what the source held for a geometry the product
// could not decode (v.G == nil), for the formats that carry geometry as
// text: its text (WKT, EWKT, anything a text column held) as it was, or
// its bytes (EWKB, WKB, a GeoPackage blob) as upper-case hex, the text
// PostGIS prints for a geometry (`geom::text`). A curved PostGIS type
// thus keeps its EWKB instead of becoming NULL.
func appendUndecoded(dst []byte, v *record.Value) []byte {
	if v.B != nil {
		start := len(dst)
		dst = hex.AppendEncode(dst, v.B)
		upper := strings.ToUpper(string(dst[start:]))
		return append(dst[:start], upper...)
	}
	return append(dst, v.S...)
}

// undecoded reports whether v is a geometry that did not decode but has
// a source value to keep.
func undecoded(v *record.Value) bool {
	return v.Kind == record.Geometry && v.G == nil && (v.B != nil || v.S != "")
}
