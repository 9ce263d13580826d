package geometry

import (
	"errors"
	"fmt"
)

// errRingNotClosed is wrapped by the errors for rings whose first and last
// points differ.
var errRingNotClosed = errors.New("ring not closed")

// checkClosed reports an error unless the ring's first and last points are
// equal in X and Y (PostGIS checks closure in 2D only).
func checkClosed(ring []float64, stride int) error {
	last := len(ring) - stride
	if ring[0] == ring[last] && ring[1] == ring[last+1] {
		return nil
	}
	return fmt.Errorf("%w: starts at (%g %g), ends at (%g %g)", errRingNotClosed,
		ring[0], ring[1], ring[last], ring[last+1])
}
