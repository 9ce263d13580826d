package crs

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"

	"github.com/twpayne/go-geom"
	"github.com/twpayne/go-proj/v11"
)

// EPSG codes the product treats specially.
const (
	// WGS84 is EPSG:4326, WGS 84 longitude/latitude, the CRS of GeoJSON.
	WGS84 = 4326
	// WGS84_3D is EPSG:4979, WGS 84 with ellipsoidal height: lon/lat as
	// 4326 for x and y.
	WGS84_3D = 4979
	// WebMercator is EPSG:3857.
	WebMercator = 3857
)

// IsLonLat reports whether srid is WGS 84 longitude/latitude as it stands
// (4326, or 4979 whose height is kept as Z).
func IsLonLat(srid int) bool { return srid == WGS84 || srid == WGS84_3D }

// ErrUnknown is wrapped by the error for an EPSG code PROJ does not know.
var ErrUnknown = errors.New("unknown coordinate reference system")

// Transformer reprojects geometries. The zero value is not usable: call
// New. Not safe for concurrent use.
type Transformer struct {
	ctx   *proj.Context
	cache map[[2]int]*proj.PJ
	// keep holds the operations the cached ones were normalized from.
	// go-proj destroys an unreachable PJ from a cleanup goroutine without
	// its context's lock; a PJ of t.ctx destroyed while t transforms with
	// that context races with the transformation (measured: about one run
	// in ten of the NC counties test under -race got a vertex 30 m off,
	// PROJ having fallen back to another operation). Kept here, they live
	// as long as t, which is never collected (see idle).
	keep []*proj.PJ
}

// idle holds released Transformers for reuse. They are never garbage
// collected: go-proj frees a context and its PJs from independent
// cleanups, in no set order, so a Transformer dropped while its context
// and operations become unreachable together could have an operation
// destroyed after its context. Their number is bounded by the render
// passes that ever ran at once in the process.
var idle struct {
	sync.Mutex
	list []*Transformer
}

// New returns a Transformer with a PROJ context of its own (one released
// earlier, with its cached operations, if there is one). Call Release when
// done.
func New() *Transformer {
	idle.Lock()
	defer idle.Unlock()
	if n := len(idle.list); n > 0 {
		t := idle.list[n-1]
		idle.list = idle.list[:n-1]
		return t
	}
	return &Transformer{ctx: proj.NewContext(), cache: map[[2]int]*proj.PJ{}}
}

// Release hands t back for another render pass; t must not be used
// afterwards.
func (t *Transformer) Release() {
	idle.Lock()
	defer idle.Unlock()
	idle.list = append(idle.list, t)
}

// Check reports whether PROJ knows EPSG:srid as a CRS (an error wrapping
// ErrUnknown otherwise).
func Check(srid int) error {
	if srid <= 0 {
		return fmt.Errorf("EPSG:%d: %w", srid, ErrUnknown)
	}
	// On a pooled transformer's context, kept with it: a context and a
	// PJ dropped together may be freed in the wrong order (see idle).
	t := New()
	defer t.Release()
	pj, err := t.ctx.New(epsg(srid))
	if err != nil {
		return fmt.Errorf("EPSG:%d: %w", srid, ErrUnknown)
	}
	t.keep = append(t.keep, pj)
	if !pj.IsCRS() {
		return fmt.Errorf("EPSG:%d: %w", srid, ErrUnknown)
	}
	return nil
}

func epsg(srid int) string { return "EPSG:" + strconv.Itoa(srid) }

// pj returns the cached transformation from EPSG:from to EPSG:to.
func (t *Transformer) pj(from, to int) (*proj.PJ, error) {
	k := [2]int{from, to}
	if p, ok := t.cache[k]; ok {
		if p == nil {
			return nil, fmt.Errorf("EPSG:%d to EPSG:%d: %w", from, to, ErrUnknown)
		}
		return p, nil
	}
	p, err := t.ctx.NewCRSToCRS(epsg(from), epsg(to), nil)
	if err == nil {
		t.keep = append(t.keep, p)
		p, err = p.NormalizeForVisualization()
	}
	if err != nil {
		t.cache[k] = nil
		return nil, fmt.Errorf("EPSG:%d to EPSG:%d: %w (%v)", from, to, ErrUnknown, err)
	}
	t.cache[k] = p
	return p, nil
}

// Ballpark reports whether PROJ's best operation from EPSG:from to EPSG:to
// is only a ballpark one (a datum shift without its grid, off by up to
// tens of metres). An error says the pair cannot be transformed at all.
func (t *Transformer) Ballpark(from, to int) (bool, error) {
	p, err := t.pj(from, to)
	if err != nil {
		return false, err
	}
	return p.HasBallparkTransformation(), nil
}

// Transform returns a copy of g in EPSG:to, with that SRID; g, whose SRID
// must be set, is not modified. X and Y are transformed, Z and M are kept
// as they are. A coordinate PROJ cannot transform (outside the
// projection's domain, a missing grid) or that comes out NaN or infinite
// is an error.
func (t *Transformer) Transform(g geom.T, to int) (geom.T, error) {
	from := g.SRID()
	if from == to {
		return g, nil
	}
	p, err := t.pj(from, to)
	if err != nil {
		return nil, err
	}
	return t.copy(p, g, to)
}

func (t *Transformer) copy(p *proj.PJ, g geom.T, to int) (geom.T, error) {
	switch g := g.(type) {
	case *geom.Point:
		return transformClone(p, g, to)
	case *geom.LineString:
		return transformClone(p, g, to)
	case *geom.Polygon:
		return transformClone(p, g, to)
	case *geom.MultiPoint:
		return transformClone(p, g, to)
	case *geom.MultiLineString:
		return transformClone(p, g, to)
	case *geom.MultiPolygon:
		return transformClone(p, g, to)
	case *geom.GeometryCollection:
		gc := geom.NewGeometryCollection()
		if err := gc.SetLayout(g.Layout()); err != nil {
			return nil, err
		}
		for _, m := range g.Geoms() {
			mc, err := t.copy(p, m, to)
			if err != nil {
				return nil, err
			}
			if err := gc.Push(mc); err != nil {
				return nil, err
			}
		}
		return gc.SetSRID(to), nil
	}
	return nil, fmt.Errorf("unsupported geometry type %T", g)
}

// cloneable is a go-geom geometry type with flat coordinates.
type cloneable[G any] interface {
	geom.T
	Clone() G
	SetSRID(srid int) G
}

func transformClone[G cloneable[G]](p *proj.PJ, g G, to int) (G, error) {
	c := g.Clone()
	flat, stride := c.FlatCoords(), c.Stride()
	if len(flat) > 0 && !allNaN(flat) {
		if err := p.ForwardFlatCoords(flat, stride, -1, -1); err != nil {
			var zero G
			return zero, fmt.Errorf("PROJ: %w", err)
		}
		for i := 0; i+1 < len(flat); i += stride {
			if !finite(flat[i]) || !finite(flat[i+1]) {
				var zero G
				return zero, fmt.Errorf("PROJ gave a non-finite coordinate (%g %g)", flat[i], flat[i+1])
			}
		}
	}
	return c.SetSRID(to), nil
}

// allNaN reports a POINT EMPTY (NaN coordinates, as WKB writes it).
func allNaN(flat []float64) bool {
	for _, v := range flat {
		if !math.IsNaN(v) {
			return false
		}
	}
	return true
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
