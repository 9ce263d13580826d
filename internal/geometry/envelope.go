package geometry

import (
	"github.com/twpayne/go-geom"
)

// Envelope is a 2D bounding box (X and Y only). The zero value is the
// empty envelope, which Extend grows.
type Envelope struct {
	MinX, MaxX, MinY, MaxY float64
	set                    bool
}

// IsEmpty reports whether the envelope holds no point.
func (e Envelope) IsEmpty() bool { return !e.set }

// Extend grows e to cover o.
func (e *Envelope) Extend(o Envelope) {
	if !o.set {
		return
	}
	if !e.set {
		*e = o
		return
	}
	e.MinX, e.MaxX = min(e.MinX, o.MinX), max(e.MaxX, o.MaxX)
	e.MinY, e.MaxY = min(e.MinY, o.MinY), max(e.MaxY, o.MaxY)
}

// EnvelopeOf returns the envelope of g's X and Y coordinates (empty for
// an empty geometry, including collections of empty members).
func EnvelopeOf(g geom.T) Envelope {
	var e Envelope
	e.extendGeom(g)
	return e
}

func (e *Envelope) extendGeom(g geom.T) {
	if gc, ok := g.(*geom.GeometryCollection); ok {
		for _, m := range gc.Geoms() {
			e.extendGeom(m)
		}
		return
	}
	flat, stride := g.FlatCoords(), g.Stride()
	for i := 0; i+1 < len(flat); i += stride {
		x, y := flat[i], flat[i+1]
		if !e.set {
			*e = Envelope{MinX: x, MaxX: x, MinY: y, MaxY: y, set: true}
			continue
		}
		e.MinX, e.MaxX = min(e.MinX, x), max(e.MaxX, x)
		e.MinY, e.MaxY = min(e.MinY, y), max(e.MaxY, y)
	}
}
