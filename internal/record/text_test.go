package record

import (
	"math"
	"testing"
)

// The expected strings are what PostgreSQL 15 prints for float8 (checked
// with SELECT x::float8::text).
func TestAppendFloatLikePostgreSQL(t *testing.T) {
	cases := map[float64]string{
		0:                      "0",
		1234567.5:              "1234567.5",
		0.1:                    "0.1",
		-1.5e-7:                "-1.5e-07",
		1e21:                   "1e+21",
		123456789012345:        "123456789012345",
		1e15:                   "1e+15",
		0.0001:                 "0.0001",
		0.00001234:             "1.234e-05",
		math.Inf(1):            "Infinity",
		math.Inf(-1):           "-Infinity",
		math.NaN():             "NaN",
		-77.0365298:            "-77.0365298",
		1.7976931348623157e308: "1.7976931348623157e+308",
	}
	for f, want := range cases {
		if got := string(AppendFloat(nil, f)); got != want {
			t.Errorf("AppendFloat(%v) = %q, want %q", f, got, want)
		}
	}
}
