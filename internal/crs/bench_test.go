package crs_test

import (
	"testing"

	"github.com/twpayne/go-geom"

	"github.com/countydatasync/countysync/internal/crs"
)

// BenchmarkTransform reprojects a State Plane (EPSG:2263) parcel polygon
// of 13 and of 1,000 vertices to WGS 84, as the GeoJSON stage does per row.
func BenchmarkTransform(b *testing.B) {
	for _, n := range []int{13, 1000} {
		flat := make([]float64, 0, 2*n)
		for i := range n - 1 {
			flat = append(flat, 988000+float64(i%50)*3, 200000+float64(i/50)*3)
		}
		flat = append(flat, flat[0], flat[1])
		p := geom.NewPolygonFlat(geom.XY, flat, []int{len(flat)}).SetSRID(2263)
		b.Run(map[int]string{13: "13", 1000: "1000"}[n], func(b *testing.B) {
			tr := crs.New()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tr.Transform(p, crs.WGS84); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
