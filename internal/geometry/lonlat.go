package geometry

import (
	"fmt"

	"github.com/twpayne/go-geom"
)

// lonLatInput checks that geometries in srid can be written as WGS 84
// lon/lat and reports whether their coordinates are web mercator metres
// that must be converted: SRID 0 (none), 4326 and 4979 (WGS 84 with height)
// pass as they are, 3857 is converted, any other SRID is an error that
// names the output format (the pipeline reprojects every other SRID before
// it reaches an encoder, so this is a last line of defence).
func lonLatInput(srid int, format string) (mercator bool, err error) {
	switch srid {
	case sridNone, sridWGS84, sridWGS84_3D:
		return false, nil
	case sridWebMercator:
		return true, nil
	}
	return false, fmt.Errorf("geometry has SRID %d; %s needs WGS 84 lon/lat (EPSG:4326) and it was not reprojected", srid, format)
}

// toLonLat returns g in WGS 84 lon/lat, as lonLatInput decides: g itself
// when it already is, a converted copy with SRID 4326 when it is in web
// mercator. g is never modified.
func toLonLat(g geom.T, format string) (geom.T, error) {
	mercator, err := lonLatInput(g.SRID(), format)
	if err != nil || !mercator {
		return g, err
	}
	return mercatorCopy(g)
}

// mercatorCopy returns a copy of g with every coordinate converted from
// EPSG:3857 metres to WGS 84 degrees and SRID 4326.
func mercatorCopy(g geom.T) (geom.T, error) {
	switch g := g.(type) {
	case *geom.Point:
		return mercatorClone(g), nil
	case *geom.LineString:
		return mercatorClone(g), nil
	case *geom.Polygon:
		return mercatorClone(g), nil
	case *geom.MultiPoint:
		return mercatorClone(g), nil
	case *geom.MultiLineString:
		return mercatorClone(g), nil
	case *geom.MultiPolygon:
		return mercatorClone(g), nil
	case *geom.GeometryCollection:
		gc := geom.NewGeometryCollection()
		if err := gc.SetLayout(g.Layout()); err != nil {
			return nil, err
		}
		for _, m := range g.Geoms() {
			mc, err := mercatorCopy(m)
			if err != nil {
				return nil, err
			}
			if err := gc.Push(mc); err != nil {
				return nil, err
			}
		}
		return gc.SetSRID(sridWGS84), nil
	}
	return nil, fmt.Errorf("unsupported geometry type %T", g)
}

// cloneable is a go-geom geometry type with flat coordinates.
type cloneable[G any] interface {
	geom.T
	Clone() G
	SetSRID(srid int) G
}

// mercatorClone returns a deep copy of g converted to WGS 84 degrees.
func mercatorClone[G cloneable[G]](g G) G {
	c := g.Clone()
	flat, stride := c.FlatCoords(), c.Stride()
	for i := 0; i+1 < len(flat); i += stride {
		flat[i], flat[i+1] = mercatorToLonLat(flat[i], flat[i+1])
	}
	return c.SetSRID(sridWGS84)
}
