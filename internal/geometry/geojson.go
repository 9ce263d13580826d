package geometry

import (
	"errors"
	"fmt"

	"github.com/twpayne/go-geom"
)

// SRIDs AppendGeoJSON knows.
const (
	sridNone         = 0
	sridWGS84        = 4326
	sridWGS84_3D     = 4979
	sridWebMercator  = 3857
	maxGeoJSONDigits = 17
)

// AppendGeoJSON appends g as an RFC 7946 geometry object, for example
// {"type":"Polygon","coordinates":[[[x,y],…]]}, and returns the extended
// buffer.
//
// Coordinates have the given number of decimals (0 to 17) with trailing
// zeros and a trailing '.' trimmed and "-0" written as "0"; Z is kept as a
// third coordinate and M dropped. Exterior rings are written
// counter-clockwise and holes clockwise (reversed by signed area when
// needed, also inside multi-polygons and collections). Empty geometries
// append null, and empty members of multi-geometries and collections are
// left out. The geometry must be WGS 84 lon/lat: SRID 0 and 4326 pass,
// 3857 (web mercator) is converted, any other SRID is an error that tells
// the user to ST_Transform in the query. On error dst is returned
// unchanged.
func AppendGeoJSON(dst []byte, g geom.T, decimals int) ([]byte, error) {
	if decimals < 0 || decimals > maxGeoJSONDigits {
		return dst, fmt.Errorf("GeoJSON: %d decimals is out of range 0..%d", decimals, maxGeoJSONDigits)
	}
	if g == nil || g.Empty() {
		return append(dst, "null"...), nil
	}
	mercator, err := lonLatInput(g.SRID(), "GeoJSON")
	if err != nil {
		return dst, err
	}
	w := geoJSONWriter{dst: dst, decimals: decimals, mercator: mercator}
	if err := w.geometry(g); err != nil {
		return dst, err
	}
	return w.dst, nil
}

// geoJSONWriter carries the options through the recursion.
type geoJSONWriter struct {
	dst      []byte
	decimals int
	mercator bool
	err      error
}

var errNonFinite = errors.New("GeoJSON: coordinate is NaN or infinite")

func (w *geoJSONWriter) geometry(g geom.T) error {
	switch g := g.(type) {
	case *geom.Point:
		w.dst = append(w.dst, `{"type":"Point","coordinates":`...)
		w.point(g.FlatCoords(), g.Stride(), g.Layout())
	case *geom.LineString:
		w.dst = append(w.dst, `{"type":"LineString","coordinates":`...)
		w.points(g.FlatCoords(), g.Stride(), g.Layout(), false)
	case *geom.LinearRing:
		w.dst = append(w.dst, `{"type":"LineString","coordinates":`...)
		w.points(g.FlatCoords(), g.Stride(), g.Layout(), false)
	case *geom.Polygon:
		w.dst = append(w.dst, `{"type":"Polygon","coordinates":`...)
		w.polygon(g.FlatCoords(), 0, g.Ends(), g.Stride(), g.Layout())
	case *geom.MultiPoint:
		w.dst = append(w.dst, `{"type":"MultiPoint","coordinates":[`...)
		flat, stride, start, n := g.FlatCoords(), g.Stride(), 0, 0
		for _, end := range g.Ends() {
			if end == start {
				continue // EMPTY member
			}
			if n > 0 {
				w.dst = append(w.dst, ',')
			}
			w.point(flat[start:end], stride, g.Layout())
			start = end
			n++
		}
		w.dst = append(w.dst, ']')
	case *geom.MultiLineString:
		w.dst = append(w.dst, `{"type":"MultiLineString","coordinates":[`...)
		flat, stride, start, n := g.FlatCoords(), g.Stride(), 0, 0
		for _, end := range g.Ends() {
			if end == start {
				continue
			}
			if n > 0 {
				w.dst = append(w.dst, ',')
			}
			w.points(flat[start:end], stride, g.Layout(), false)
			start = end
			n++
		}
		w.dst = append(w.dst, ']')
	case *geom.MultiPolygon:
		w.dst = append(w.dst, `{"type":"MultiPolygon","coordinates":[`...)
		flat, stride, start, n := g.FlatCoords(), g.Stride(), 0, 0
		for _, ends := range g.Endss() {
			if len(ends) == 0 {
				continue
			}
			if n > 0 {
				w.dst = append(w.dst, ',')
			}
			w.polygon(flat, start, ends, stride, g.Layout())
			start = ends[len(ends)-1]
			n++
		}
		w.dst = append(w.dst, ']')
	case *geom.GeometryCollection:
		w.dst = append(w.dst, `{"type":"GeometryCollection","geometries":[`...)
		n := 0
		for _, m := range g.Geoms() {
			if m.Empty() {
				continue
			}
			if n > 0 {
				w.dst = append(w.dst, ',')
			}
			if err := w.geometry(m); err != nil {
				return err
			}
			n++
		}
		w.dst = append(w.dst, ']')
	default:
		return fmt.Errorf("GeoJSON: unsupported geometry type %T", g)
	}
	w.dst = append(w.dst, '}')
	return w.err
}

// polygon appends the rings of one polygon, whose coordinates start at
// flat[start] and end at each of ends, exterior counter-clockwise and
// holes clockwise.
func (w *geoJSONWriter) polygon(flat []float64, start int, ends []int, stride int, l geom.Layout) {
	w.dst = append(w.dst, '[')
	for i, end := range ends {
		if i > 0 {
			w.dst = append(w.dst, ',')
		}
		ring := flat[start:end]
		w.points(ring, stride, l, reverseRing(ring, stride, i == 0))
		start = end
	}
	w.dst = append(w.dst, ']')
}

// points appends "[[x,y],…]", in reverse order if asked.
func (w *geoJSONWriter) points(flat []float64, stride int, l geom.Layout, reverse bool) {
	w.dst = append(w.dst, '[')
	n := len(flat) / stride
	for i := range n {
		if i > 0 {
			w.dst = append(w.dst, ',')
		}
		j := i
		if reverse {
			j = n - 1 - i
		}
		w.point(flat[j*stride:(j+1)*stride], stride, l)
	}
	w.dst = append(w.dst, ']')
}

// point appends "[x,y]" or "[x,y,z]" (M is dropped).
func (w *geoJSONWriter) point(c []float64, stride int, l geom.Layout) {
	x, y := c[0], c[1]
	if w.mercator {
		x, y = mercatorToLonLat(x, y)
	}
	w.dst = append(w.dst, '[')
	w.number(x)
	w.dst = append(w.dst, ',')
	w.number(y)
	if l == geom.XYZ || l == geom.XYZM {
		w.dst = append(w.dst, ',')
		w.number(c[2])
	}
	w.dst = append(w.dst, ']')
}

// number appends v rounded to w.decimals decimals, trailing zeros and '.'
// trimmed, "-0" as "0". NaN and infinities set w.err (JSON has no such
// numbers).
func (w *geoJSONWriter) number(v float64) {
	if v-v != 0 { // NaN or ±Inf
		w.err = errNonFinite
		w.dst = append(w.dst, '0')
		return
	}
	w.dst = appendDecimal(w.dst, v, w.decimals)
}
