package record

import (
	"encoding/json"
	"testing"
)

// jsonNumberOracle asks encoding/json: s is one JSON number when it is a
// valid JSON text that starts like a number ('-' or a digit; any valid
// text that does is a number) and ends in a digit (no trailing space).
func jsonNumberOracle(s string) bool {
	return json.Valid([]byte(s)) && len(s) > 0 &&
		(s[0] == '-' || '0' <= s[0] && s[0] <= '9') &&
		'0' <= s[len(s)-1] && s[len(s)-1] <= '9'
}

var jsonNumberCases = map[string]bool{
	"0": true, "-0": true, "12.50": true, "1e5": true, "-1.5E-3": true, "1E+09": true, "0.0e0": true, "1234567890123456789012345.5": true,
	"": false, "-": false, "01": false, "-01": false, "1.": false, ".5": false, "+1": false, "1e": false, "1e+": false,
	"NaN": false, "Infinity": false, " 1": false, "1 ": false, "abc": false, "0x10": false, "1_000": false, "1.5.5": false, "--1": false,
}

func TestIsJSONNumber(t *testing.T) {
	for s, want := range jsonNumberCases {
		if got := IsJSONNumber(s); got != want {
			t.Errorf("IsJSONNumber(%q) = %v, want %v", s, got, want)
		}
		if oracle := jsonNumberOracle(s); oracle != want {
			t.Errorf("encoding/json says %q is a number: %v, the table says %v", s, oracle, want)
		}
	}
}

func TestScanJSONNumber(t *testing.T) {
	for _, c := range []struct {
		s       string
		i, end  int
		ok      bool
		comment string
	}{
		{`[1.5,2]`, 1, 4, true, "stops at the comma"},
		{`{"a":-0e1}`, 5, 9, true, "stops at the brace"},
		{`1.x`, 0, 2, false, "a dot needs a digit"},
		{`007`, 0, 1, true, "a leading 0 ends the integer part"},
		{`x`, 0, 0, false, "not a number"},
		{`-`, 0, 1, false, "sign only"},
	} {
		end, ok := ScanJSONNumber(c.s, c.i)
		if end != c.end || ok != c.ok {
			t.Errorf("ScanJSONNumber(%q, %d) = %d, %v, want %d, %v (%s)", c.s, c.i, end, ok, c.end, c.ok, c.comment)
		}
	}
}

func FuzzIsJSONNumber(f *testing.F) {
	for s := range jsonNumberCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := IsJSONNumber(s), jsonNumberOracle(s); got != want {
			t.Fatalf("IsJSONNumber(%q) = %v, encoding/json says %v", s, got, want)
		}
		// A scan that succeeds covers a valid number, and the scan of a
		// whole number ends at the end.
		if end, ok := ScanJSONNumber(s, 0); ok && !jsonNumberOracle(s[:end]) {
			t.Fatalf("ScanJSONNumber(%q) = %d, but %q is not a JSON number", s, end, s[:end])
		}
	})
}
