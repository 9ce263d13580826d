package geometry

import "math"

// Spherical ("web") mercator, EPSG:3857, as PostGIS/PROJ define it: a
// sphere of the WGS 84 semi-major axis.
const (
	mercatorRadius = 6378137.0
	radToDeg       = 180 / math.Pi
)

// mercatorToLonLat converts EPSG:3857 metres to WGS 84 degrees.
func mercatorToLonLat(x, y float64) (lon, lat float64) {
	lon = x / mercatorRadius * radToDeg
	lat = math.Atan(math.Sinh(y/mercatorRadius)) * radToDeg
	return lon, lat
}
