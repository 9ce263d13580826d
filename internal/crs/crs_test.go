package crs_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/twpayne/go-geom"

	"github.com/countydatasync/countysync/internal/crs"
)

// geographic lists the test's source CRSs whose EPSG axis order is
// latitude, longitude (cs2cs reads and writes them in that order).
var geographic = map[int]bool{4267: true, 4326: true}

// cs2cs transforms points with PROJ's command-line tool, the oracle: lon/lat
// (or x/y) in, lon/lat out, whatever axis order the EPSG definitions give.
func cs2cs(t *testing.T, from, to int, pts [][2]float64) [][2]float64 {
	t.Helper()
	if _, err := exec.LookPath("cs2cs"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("cs2cs is the oracle: install proj-bin (scripts/services.sh does)")
		}
		t.Skip("cs2cs not installed (Debian proj-bin)")
	}
	var in bytes.Buffer
	for _, p := range pts {
		a, b := p[0], p[1]
		if geographic[from] {
			a, b = b, a
		}
		fmt.Fprintf(&in, "%.10f %.10f\n", a, b)
	}
	cmd := exec.Command("cs2cs", "-d", "12", fmt.Sprintf("EPSG:%d", from), fmt.Sprintf("EPSG:%d", to))
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cs2cs: %v", err)
	}
	var res [][2]float64
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		a, err1 := strconv.ParseFloat(f[0], 64)
		b, err2 := strconv.ParseFloat(f[1], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("cs2cs output %q", line)
		}
		if geographic[to] {
			a, b = b, a
		}
		res = append(res, [2]float64{a, b})
	}
	if len(res) != len(pts) {
		t.Fatalf("cs2cs gave %d points for %d", len(res), len(pts))
	}
	return res
}

// TestTransformMatchesCS2CS reprojects a linestring in each county CRS the
// issue names to WGS 84 and back, and compares every vertex with cs2cs.
func TestTransformMatchesCS2CS(t *testing.T) {
	cases := []struct {
		srid int
		pts  [][2]float64
	}{
		{2263, [][2]float64{{988000, 200000}, {1067382, 272844}, {913175, 120121}}}, // NY Long Island, US feet
		{2227, [][2]float64{{6000000, 2100000}, {6100000, 2000000}}},                // California zone 3, US feet
		{26918, [][2]float64{{583000, 4507000}, {600000, 4400000}}},                 // UTM 18N NAD83
		{32617, [][2]float64{{500000, 4000000}, {700000, 3900000}}},                 // UTM 17N WGS 84
		{4267, [][2]float64{{-78, 36}, {-84.3, 35.1}, {-75.5, 36.5}}},               // NAD27, North Carolina
		{3857, [][2]float64{{-8238000, 4970000}, {-8000000, 4800000}}},
		{4326, [][2]float64{{-73.98, 40.71}}},
	}
	tr := crs.New()
	for _, c := range cases {
		t.Run(strconv.Itoa(c.srid), func(t *testing.T) {
			flat := make([]float64, 0, 2*len(c.pts))
			for _, p := range c.pts {
				flat = append(flat, p[0], p[1])
			}
			src := geom.NewLineStringFlat(geom.XY, flat).SetSRID(c.srid)
			got, err := tr.Transform(src, crs.WGS84)
			if err != nil {
				t.Fatal(err)
			}
			if got.SRID() != crs.WGS84 {
				t.Errorf("SRID %d", got.SRID())
			}
			if src.FlatCoords()[0] != c.pts[0][0] {
				t.Error("the source geometry was modified")
			}
			want := cs2cs(t, c.srid, crs.WGS84, c.pts)
			for i, w := range want {
				g := got.FlatCoords()[2*i : 2*i+2]
				if math.Abs(g[0]-w[0]) > 1e-7 || math.Abs(g[1]-w[1]) > 1e-7 {
					t.Errorf("vertex %d: got (%.9f %.9f), cs2cs (%.9f %.9f)", i, g[0], g[1], w[0], w[1])
				}
			}
			// And back, to 1 cm in projected units (cs2cs again).
			back, err := tr.Transform(got, c.srid)
			if err != nil {
				t.Fatal(err)
			}
			wantBack := cs2cs(t, crs.WGS84, c.srid, want)
			tol := 0.01
			if geographic[c.srid] {
				tol = 1e-7
			}
			for i, w := range wantBack {
				g := back.FlatCoords()[2*i : 2*i+2]
				if math.Abs(g[0]-w[0]) > tol || math.Abs(g[1]-w[1]) > tol {
					t.Errorf("back, vertex %d: got (%.4f %.4f), cs2cs (%.4f %.4f)", i, g[0], g[1], w[0], w[1])
				}
			}
		})
	}
}

func TestTransformKeepsZAndCollections(t *testing.T) {
	tr := crs.New()
	gc := geom.NewGeometryCollection()
	if err := gc.Push(geom.NewPointFlat(geom.XYZ, []float64{988000, 200000, 42})); err != nil {
		t.Fatal(err)
	}
	if err := gc.Push(geom.NewPointEmpty(geom.XYZ)); err != nil {
		t.Fatal(err)
	}
	got, err := tr.Transform(gc.SetSRID(2263), crs.WGS84)
	if err != nil {
		t.Fatal(err)
	}
	p := got.(*geom.GeometryCollection).Geom(0).(*geom.Point)
	want := cs2cs(t, 2263, crs.WGS84, [][2]float64{{988000, 200000}})[0]
	if math.Abs(p.X()-want[0]) > 1e-7 || math.Abs(p.Y()-want[1]) > 1e-7 || p.Z() != 42 {
		t.Errorf("got %v, want %v with Z 42", p.FlatCoords(), want)
	}
	if !got.(*geom.GeometryCollection).Geom(1).Empty() {
		t.Error("empty member not kept empty")
	}
}

func TestUnknownSRID(t *testing.T) {
	if err := crs.Check(999999); !errors.Is(err, crs.ErrUnknown) {
		t.Errorf("Check(999999) = %v", err)
	}
	if err := crs.Check(2263); err != nil {
		t.Errorf("Check(2263) = %v", err)
	}
	_, err := crs.New().Transform(geom.NewPointFlat(geom.XY, []float64{1, 2}).SetSRID(999999), crs.WGS84)
	if !errors.Is(err, crs.ErrUnknown) {
		t.Errorf("Transform from 999999: %v", err)
	}
}

func TestOutOfDomainIsAnError(t *testing.T) {
	// A latitude beyond the pole cannot be projected.
	_, err := crs.New().Transform(geom.NewPointFlat(geom.XY, []float64{0, 95}).SetSRID(crs.WGS84), 32617)
	if err == nil {
		t.Error("no error for latitude 95")
	}
}
