package geometry

import (
	"github.com/twpayne/go-geom"
)

// AppendWKT appends g as PostGIS 3 ST_AsText writes it and returns the
// extended buffer: "POINT(1 2)", "POINT Z (1 2 3)",
// "POLYGON((0 0,1 0,1 1,0 0))", "MULTIPOINT((1 2),(3 4))",
// "GEOMETRYCOLLECTION(POINT(1 2),LINESTRING(0 0,1 1))", "POLYGON EMPTY".
// Coordinates are printed like PostGIS prints them (shortest round-trip
// digits, at most 15 decimals, scientific notation below 1e-8 and from
// 1e15); rings keep their order; no SRID is written. A nil geometry
// appends nothing.
func AppendWKT(dst []byte, g geom.T) []byte {
	switch g := g.(type) {
	case *geom.Point:
		dst, open := wktBegin(dst, "POINT", g.Layout(), g.Empty())
		if !open {
			return dst
		}
		dst = appendWKTPoints(dst, g.FlatCoords(), g.Stride())
		return append(dst, ')')
	case *geom.LineString:
		return appendWKTLine(dst, "LINESTRING", g.Layout(), g.FlatCoords(), g.Stride())
	case *geom.LinearRing:
		return appendWKTLine(dst, "LINESTRING", g.Layout(), g.FlatCoords(), g.Stride())
	case *geom.Polygon:
		dst, open := wktBegin(dst, "POLYGON", g.Layout(), len(g.Ends()) == 0)
		if !open {
			return dst
		}
		dst = appendWKTRings(dst, g.FlatCoords(), 0, g.Ends(), g.Stride())
		return append(dst, ')')
	case *geom.MultiPoint:
		return appendWKTParts(dst, "MULTIPOINT", g.Layout(), g.FlatCoords(), g.Ends(), g.Stride())
	case *geom.MultiLineString:
		return appendWKTParts(dst, "MULTILINESTRING", g.Layout(), g.FlatCoords(), g.Ends(), g.Stride())
	case *geom.MultiPolygon:
		endss := g.Endss()
		dst, open := wktBegin(dst, "MULTIPOLYGON", g.Layout(), len(endss) == 0)
		if !open {
			return dst
		}
		flat, stride, start := g.FlatCoords(), g.Stride(), 0
		for i, ends := range endss {
			if i > 0 {
				dst = append(dst, ',')
			}
			if len(ends) == 0 {
				dst = append(dst, "EMPTY"...)
				continue
			}
			dst = append(dst, '(')
			dst = appendWKTRings(dst, flat, start, ends, stride)
			dst = append(dst, ')')
			start = ends[len(ends)-1]
		}
		return append(dst, ')')
	case *geom.GeometryCollection:
		dst, open := wktBegin(dst, "GEOMETRYCOLLECTION", g.Layout(), g.NumGeoms() == 0)
		if !open {
			return dst
		}
		for i, m := range g.Geoms() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendWKT(dst, m)
		}
		return append(dst, ')')
	}
	return dst
}

// wktBegin appends the type keyword with its dimension tag and either
// " EMPTY" (reporting false) or the opening parenthesis.
func wktBegin(dst []byte, name string, l geom.Layout, empty bool) ([]byte, bool) {
	dst = append(dst, name...)
	tag := layoutTag(l)
	dst = append(dst, tag...)
	if empty {
		return append(dst, " EMPTY"...), false
	}
	if tag != "" {
		dst = append(dst, ' ')
	}
	return append(dst, '('), true
}

func appendWKTLine(dst []byte, name string, l geom.Layout, flat []float64, stride int) []byte {
	dst, open := wktBegin(dst, name, l, len(flat) == 0)
	if !open {
		return dst
	}
	dst = appendWKTPoints(dst, flat, stride)
	return append(dst, ')')
}

// appendWKTRings appends "(ring),(ring)…" for the rings of one polygon,
// whose coordinates start at flat[start] and end at each of ends.
func appendWKTRings(dst []byte, flat []float64, start int, ends []int, stride int) []byte {
	for i, end := range ends {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '(')
		dst = appendWKTPoints(dst, flat[start:end], stride)
		dst = append(dst, ')')
		start = end
	}
	return dst
}

// appendWKTPoints appends "x y,x y…" (all ordinates of each point).
func appendWKTPoints(dst []byte, flat []float64, stride int) []byte {
	for i, v := range flat {
		if i > 0 {
			if i%stride == 0 {
				dst = append(dst, ',')
			} else {
				dst = append(dst, ' ')
			}
		}
		dst = appendOrdinate(dst, v)
	}
	return dst
}

// layoutTag is the WKT dimension tag of a layout, with its leading space.
func layoutTag(l geom.Layout) string {
	switch l {
	case geom.XYZ:
		return " Z"
	case geom.XYM:
		return " M"
	case geom.XYZM:
		return " ZM"
	}
	return ""
}

// layoutName names a layout for error messages.
func layoutName(l geom.Layout) string {
	switch l {
	case geom.XY:
		return "XY"
	case geom.XYZ:
		return "XYZ"
	case geom.XYM:
		return "XYM"
	case geom.XYZM:
		return "XYZM"
	}
	return "no dimensions"
}

// appendWKTParts appends a MULTIPOINT or MULTILINESTRING: each part a
// parenthesised coordinate list (or EMPTY), parts ending at ends.
func appendWKTParts(dst []byte, name string, layout geom.Layout, flat []float64, ends []int, stride int) []byte {
	dst, open := wktBegin(dst, name, layout, len(ends) == 0)
	if !open {
		return dst
	}
	start := 0
	for i, end := range ends {
		if i > 0 {
			dst = append(dst, ',')
		}
		if end == start {
			dst = append(dst, "EMPTY"...)
			continue
		}
		dst = append(dst, '(')
		dst = appendWKTPoints(dst, flat[start:end], stride)
		dst = append(dst, ')')
		start = end
	}
	return append(dst, ')')
}
