package geometry

import (
	"math"
	"math/rand"
	"strconv"
	"strings"
	"testing"
)

// referenceDecimal is the specification of appendDecimal: strconv's
// correctly rounded 'f' formatting, trimmed.
func referenceDecimal(v float64, decimals int) string {
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

func TestAppendDecimalMatchesStrconv(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	check := func(v float64, d int) {
		if got, want := string(appendDecimal(nil, v, d)), referenceDecimal(v, d); got != want {
			t.Fatalf("appendDecimal(%v, %d) = %s, want %s", v, d, got, want)
		}
	}
	for _, v := range []float64{0, math.Copysign(0, -1), 0.5, 1.5, 2.5, -0.5, 0.05, 0.25, 1.0000000499999999,
		1.00000005, -77.03652985, 38.89767635, 1e-300, 5e-324, 1e300, -1e21, math.MaxFloat64, 1 << 40, 1<<40 - 0.5} {
		for d := 0; d <= 17; d++ {
			check(v, d)
		}
	}
	for range 200000 {
		d := r.Intn(18)
		var v float64
		switch r.Intn(4) {
		case 0: // lon/lat
			v = r.Float64()*360 - 180
		case 1: // values on a decimal grid, near ties after scaling
			v = float64(r.Int63n(1e12)-5e11) / math.Pow(10, float64(r.Intn(12)))
			v += float64(r.Intn(3)-1) * 0.5 * math.Pow(10, -float64(d))
		case 2: // any magnitude
			v = r.NormFloat64() * math.Pow(10, float64(r.Intn(40)-20))
		case 3: // any bits
			v = math.Float64frombits(r.Uint64())
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
		}
		check(v, d)
	}
}
