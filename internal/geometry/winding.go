package geometry

// ringArea2 returns twice the signed area of a ring given as flat
// coordinates (shoelace formula, coordinates taken relative to the first
// point for precision): positive when the ring runs counter-clockwise in
// a y-up (lon/lat) plane, negative when clockwise, 0 when degenerate.
func ringArea2(ring []float64, stride int) float64 {
	if len(ring) < 3*stride {
		return 0
	}
	x0, y0 := ring[0], ring[1]
	var sum float64
	px, py := 0.0, 0.0 // previous point, relative to the first
	for i := stride; i < len(ring); i += stride {
		x, y := ring[i]-x0, ring[i+1]-y0
		sum += px*y - x*py
		px, py = x, y
	}
	return sum
}

// reverseRing reports whether a ring must be written in reverse for RFC
// 7946: exterior rings counter-clockwise, holes clockwise. Degenerate
// (zero-area) rings keep their order.
func reverseRing(ring []float64, stride int, exterior bool) bool {
	a := ringArea2(ring, stride)
	if exterior {
		return a < 0
	}
	return a > 0
}
