package geometry

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/twpayne/go-geom"
	"github.com/twpayne/go-geom/encoding/wkb"
	"github.com/twpayne/go-geom/encoding/wkbcommon"
)

// GeoPackage geometry blob header (OGC GeoPackage 1.3, §2.1.3
// StandardGeoPackageBinary): "GP", version, flags, SRS id, envelope.
const (
	gpkgVersion      = 0
	gpkgLittleEndian = 0x01   // flags bit 0: header and envelope byte order
	gpkgEnvelopeXY   = 1 << 1 // flags bits 1-3: envelope code 1, [minx, maxx, miny, maxy]
	gpkgEmpty        = 1 << 4 // flags bit 4: empty geometry
)

// wkbEmptyPointNaN writes POINT EMPTY as NaN coordinates, as GeoPackage
// (and PostGIS) encode it.
var wkbEmptyPointNaN = wkbcommon.WKBOptionEmptyPointHandling(wkbcommon.EmptyPointHandlingNaN)

// AppendGeoPackage appends g as a GeoPackage StandardGeoPackageBinary
// geometry blob and returns the extended buffer and g's envelope.
//
// The blob is little endian: "GP", version 0, the flags, SRS id 4326, the
// XY envelope [minx, maxx, miny, maxy] (none, and the empty flag set, for
// an empty geometry), then ISO WKB (ISO type codes for Z and M, 1003 for
// POLYGON Z; POINT EMPTY as NaN coordinates) written by go-geom. The
// coordinates are WGS 84 lon/lat, the ones AppendGeoJSON writes: SRID 0
// and 4326 pass, 3857 is converted, any other SRID is an error, and so
// are NaN and infinite coordinates. Ring order is kept (WKB does not fix
// it, unlike GeoJSON). On error dst is returned unchanged up to its
// length.
func AppendGeoPackage(dst []byte, g geom.T) ([]byte, Envelope, error) {
	if g == nil {
		return dst, Envelope{}, fmt.Errorf("GeoPackage: no geometry")
	}
	g, err := toLonLat(g, "GeoPackage")
	if err != nil {
		return dst, Envelope{}, err
	}
	if !allFinite(g) {
		return dst, Envelope{}, fmt.Errorf("GeoPackage: coordinate is NaN or infinite")
	}
	env := EnvelopeOf(g)
	start := len(dst)
	flags := byte(gpkgLittleEndian)
	if env.IsEmpty() {
		flags |= gpkgEmpty
	} else {
		flags |= gpkgEnvelopeXY
	}
	dst = append(dst, 'G', 'P', gpkgVersion, flags)
	dst = binary.LittleEndian.AppendUint32(dst, sridWGS84)
	if !env.IsEmpty() {
		for _, v := range [...]float64{env.MinX, env.MaxX, env.MinY, env.MaxY} {
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
		}
	}
	w := appendWriter{b: dst}
	if err := wkb.Write(&w, wkb.NDR, g, wkbEmptyPointNaN); err != nil {
		return dst[:start], Envelope{}, fmt.Errorf("GeoPackage: WKB: %w", err)
	}
	return w.b, env, nil
}

// allFinite reports whether every coordinate of g is a finite number.
func allFinite(g geom.T) bool {
	if gc, ok := g.(*geom.GeometryCollection); ok {
		for _, m := range gc.Geoms() {
			if !allFinite(m) {
				return false
			}
		}
		return true
	}
	var acc float64 // stays 0 unless some v is NaN or ±Inf
	for _, v := range g.FlatCoords() {
		acc += v - v
	}
	return acc == 0
}

// appendWriter is an io.Writer that appends to a byte slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}
