package format

import (
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
	return geometry.AppendGeoJSON(dst, v.G, decimals)
}

// appendGeoPackageGeometry appends the GeoPackage geometry blob of a
// decoded geometry value (v.G != nil), in the lon/lat the GeoJSON writer
// writes, and returns the geometry's envelope.
func appendGeoPackageGeometry(dst []byte, v *record.Value) ([]byte, geometry.Envelope, error) {
	return geometry.AppendGeoPackage(dst, v.G)
}
