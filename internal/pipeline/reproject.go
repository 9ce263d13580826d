package pipeline

import (
	"fmt"
	"math"

	"github.com/twpayne/go-geom"

	"github.com/countydatasync/countysync/internal/crs"
	"github.com/countydatasync/countysync/internal/format"
	"github.com/countydatasync/countysync/internal/geometry"
	"github.com/countydatasync/countysync/internal/record"
)

// lonLatStage gives the formats that write WGS 84 lon/lat (geojson, gpkg)
// their coordinates: it assigns the configured SRID to geometries that
// have none, reprojects every other CRS with PROJ into Value.L, and makes
// sure no coordinate outside ±180/±90 is ever published as WGS 84.
type lonLatStage struct {
	on   bool             // some format of the render needs lon/lat
	srid int              // geometry.srid from the config (0: none)
	t    *crs.Transformer // taken on first use, released after the pass; one per stage, never shared
	// warnedZero is set once the report says SRID 0 was taken as lon/lat.
	warnedZero bool
	// ballpark records the SRIDs already warned about a ballpark datum shift.
	ballpark map[int]bool
}

// releaseCRS hands the stage's PROJ transformer back once its pass is over.
func (s *stage) releaseCRS() {
	if s.ll.t != nil {
		s.ll.t.Release()
		s.ll.t = nil
	}
}

// lonLatFor turns the reprojection on when one of formats writes lon/lat.
func (s *stage) lonLatFor(formats []string) {
	for _, f := range formats {
		if spec, _ := format.Lookup(f); spec.NeedsGeometry {
			s.ll.on = true
		}
	}
}

// assignSRID gives g the configured SRID when it has none.
func (s *stage) assignSRID(g geom.T) geom.T {
	if g.SRID() != 0 || s.ll.srid == 0 {
		return g
	}
	return geometry.SetSRID(g, s.ll.srid)
}

// lonLat fills v.L for the decoded geometry v.G. A permanent error stops
// the dataset: an SRID PROJ does not know, or lon/lat coordinates (as
// declared, as assumed for SRID 0, or as PROJ computed them) outside
// ±180/±90. A coordinate PROJ cannot transform is returned as rowErr: the
// caller treats the row's geometry as undecodable (a warning, or a
// failure under --strict).
func (s *stage) lonLat(v *record.Value, row record.Row) (rowErr, err error) {
	v.L = nil
	if !s.ll.on {
		return nil, nil
	}
	g := v.G
	col := s.schema.Columns[s.geomIdx].Name
	srid := g.SRID()
	switch {
	case srid == 0 || crs.IsLonLat(srid):
		if x, y, ok := outsideLonLat(g); ok {
			if srid == 0 {
				return nil, permanent(fmt.Errorf("dataset %s, column %s, %s: coordinate (%s %s) is outside WGS 84 lon/lat (±180, ±90) and the geometry has no SRID: set geometry: {srid: <EPSG code>} to the coordinate system of the source (for example 2263 for New York Long Island feet)",
					s.dataset, col, s.key(row), fmtCoord(x), fmtCoord(y)))
			}
			return nil, permanent(fmt.Errorf("dataset %s, column %s, %s: coordinate (%s %s) is outside WGS 84 lon/lat (±180, ±90) although the geometry's SRID is %d",
				s.dataset, col, s.key(row), fmtCoord(x), fmtCoord(y), srid))
		}
		if srid == 0 && !s.ll.warnedZero {
			s.ll.warnedZero = true
			s.warnings.Add("dataset %s, column %s: geometries without an SRID were taken as WGS 84 lon/lat (every coordinate is within ±180, ±90); set geometry: {srid: <EPSG code>} if they are not",
				s.dataset, col)
		}
		return nil, nil
	case srid == crs.WebMercator:
		return nil, nil // the encoders convert web mercator themselves
	}
	if s.ll.t == nil {
		s.ll.t = crs.New()
		s.ll.ballpark = map[int]bool{}
	}
	if _, seen := s.ll.ballpark[srid]; !seen {
		bp, err := s.ll.t.Ballpark(srid, crs.WGS84)
		if err != nil {
			return nil, permanent(fmt.Errorf("dataset %s, column %s, %s: SRID %d: %w", s.dataset, col, s.key(row), srid, err))
		}
		s.ll.ballpark[srid] = bp
		if bp {
			s.warnings.Add("dataset %s, column %s: PROJ has only a ballpark transformation from EPSG:%d to WGS 84 (a datum shift without its grid: off by up to tens of metres)",
				s.dataset, col, srid)
		}
	}
	l, err := s.ll.t.Transform(g, crs.WGS84)
	if err != nil {
		return fmt.Errorf("reprojecting from EPSG:%d to WGS 84: %w", srid, err), nil
	}
	if x, y, ok := outsideLonLat(l); ok {
		return nil, permanent(fmt.Errorf("dataset %s, column %s, %s: coordinate (%s %s) reprojected from EPSG:%d is outside WGS 84 lon/lat (±180, ±90)",
			s.dataset, col, s.key(row), fmtCoord(x), fmtCoord(y), srid))
	}
	v.L = l
	return nil, nil
}

// outsideLonLat returns the first coordinate of g outside ±180/±90
// (NaN, as in POINT EMPTY, is not outside).
func outsideLonLat(g geom.T) (x, y float64, ok bool) {
	if gc, isGC := g.(*geom.GeometryCollection); isGC {
		for _, m := range gc.Geoms() {
			if x, y, ok := outsideLonLat(m); ok {
				return x, y, true
			}
		}
		return 0, 0, false
	}
	flat, stride := g.FlatCoords(), g.Stride()
	for i := 0; i+1 < len(flat); i += stride {
		x, y := flat[i], flat[i+1]
		if math.Abs(x) > 180 || math.Abs(y) > 90 {
			return x, y, true
		}
	}
	return 0, 0, false
}

func fmtCoord(f float64) string { return string(record.AppendFloat(nil, f)) }
