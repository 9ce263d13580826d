package transform

import (
	"errors"
	"testing"
)

func mustDec(t testing.TB, s string) *Decimal {
	t.Helper()
	d, err := ParseDecimal(s)
	if err != nil {
		t.Fatalf("ParseDecimal(%q): %v", s, err)
	}
	return d
}

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		in, want string
		scale    int
	}{
		{"0", "0", 0},
		{"-12.3400", "-12.3400", 4},
		{"+.5", "0.5", 1},
		{"7.", "7", 0},
		{"-0.001", "-0.001", 3},
		{"1.5e-3", "0.0015", 4},
		{"1.5E3", "1500", 0},
		{"12345678901234567890123456789.123456789", "12345678901234567890123456789.123456789", 9},
		{"000123.4500", "123.4500", 4},
	}
	for _, tt := range tests {
		d := mustDec(t, tt.in)
		if got := d.String(); got != tt.want || d.Scale() != tt.scale {
			t.Errorf("ParseDecimal(%q) = %s (scale %d), want %s (scale %d)", tt.in, got, d.Scale(), tt.want, tt.scale)
		}
	}
	for _, bad := range []string{"", "-", ".", "1.2.3", "abc", "NaN", "Infinity", "1e", "e0", "-e5", "1e99999999", "--1", "1 "} {
		if _, err := ParseDecimal(bad); err == nil {
			t.Errorf("ParseDecimal(%q) succeeded", bad)
		}
	}
}

func TestDecimalArithmetic(t *testing.T) {
	tests := []struct {
		a, op, b, want string
	}{
		{"1.10", "+", "2.205", "3.305"},
		{"0.1", "+", "0.2", "0.3"},
		{"1", "-", "0.01", "0.99"},
		{"-1.5", "*", "2.25", "-3.375"},
		{"1.20", "*", "3", "3.60"},
		// Division scales as PostgreSQL's numeric division does.
		{"1", "/", "3", "0.33333333333333333333"},
		{"10", "/", "4", "2.5000000000000000"},
		{"2", "/", "3", "0.66666666666666666667"}, // half away from zero
		{"-2", "/", "3", "-0.66666666666666666667"},
		{"1", "/", "3000", "0.00033333333333333333"},
		{"100000", "/", "3", "33333.333333333333"},
		{"0", "/", "7", "0.00000000000000000000"},
		{"1.23456789", "/", "1", "1.23456789000000000000"},
		{"12345.6", "/", "0.5", "24691.200000000000"},
		{"7.5", "%", "2", "1.5"},
		{"-7.5", "%", "2", "-1.5"},
	}
	for _, tt := range tests {
		a, b := mustDec(t, tt.a), mustDec(t, tt.b)
		var got *Decimal
		var err error
		switch tt.op {
		case "+":
			got = a.add(b)
		case "-":
			got = a.sub(b)
		case "*":
			got, err = a.mul(b)
		case "/":
			got, err = a.quo(b)
		case "%":
			got, err = a.rem(b)
		}
		if err != nil || got.String() != tt.want {
			t.Errorf("%s %s %s = %v, %v; want %s", tt.a, tt.op, tt.b, got, err, tt.want)
		}
	}
	if _, err := mustDec(t, "1").quo(mustDec(t, "0.00")); !errors.Is(err, errDivisionByZero) {
		t.Errorf("1 / 0: err = %v", err)
	}
	if _, err := mustDec(t, "1").rem(mustDec(t, "0")); !errors.Is(err, errDivisionByZero) {
		t.Errorf("1 %% 0: err = %v", err)
	}
}

func TestDecimalRound(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"1.005", 2, "1.01"},
		{"1.004999", 2, "1.00"},
		{"-1.005", 2, "-1.01"},
		{"2.5", 0, "3"},
		{"-2.5", 0, "-3"},
		{"0.5", 0, "1"},
		{"1.5", 2, "1.50"},
		{"12", 3, "12.000"},
		{"1234.5678", -2, "1200"},
		{"1250", -2, "1300"},
		{"-1250", -2, "-1300"},
		{"49.99", -2, "0"},
		{"123456789012345678901234567890.125", 2, "123456789012345678901234567890.13"},
		{"0.0000", 2, "0.00"},
	}
	for _, tt := range tests {
		got, err := mustDec(t, tt.in).round(tt.n)
		if err != nil || got.String() != tt.want {
			t.Errorf("round(%s, %d) = %v, %v; want %s", tt.in, tt.n, got, err, tt.want)
		}
	}
	if _, err := mustDec(t, "1").round(maxScale + 1); err == nil {
		t.Error("round with an excessive scale succeeded")
	}
}

func TestDecimalCmpAndConversions(t *testing.T) {
	if mustDec(t, "1.0").Cmp(mustDec(t, "1.000")) != 0 {
		t.Error("1.0 != 1.000")
	}
	if mustDec(t, "-0.01").Cmp(mustDec(t, "0")) != -1 {
		t.Error("-0.01 >= 0")
	}
	if f := mustDec(t, "0.1").Float64(); f != 0.1 {
		t.Errorf("Float64(0.1) = %v", f)
	}
	if d, ok := decimalFromFloat(1.1); !ok || d.String() != "1.1" {
		t.Errorf("decimalFromFloat(1.1) = %v", d)
	}
	if _, ok := decimalFromFloat(posInf()); ok {
		t.Error("decimalFromFloat(+Inf) succeeded")
	}
	if i, ok := mustDec(t, "42.000").int64(); !ok || i != 42 {
		t.Errorf("int64(42.000) = %d, %v", i, ok)
	}
	if _, ok := mustDec(t, "42.001").int64(); ok {
		t.Error("int64(42.001) succeeded")
	}
	if b, _ := mustDec(t, "-3.50").MarshalJSON(); string(b) != "-3.50" {
		t.Errorf("MarshalJSON = %s", b)
	}
	for _, n := range []string{"1", "9", "10", "99", "100", "999999999999999999999", "1000000000000000000000"} {
		if got := digitCount(&mustDec(t, n).coef); got != len(n) {
			t.Errorf("digitCount(%s) = %d", n, got)
		}
	}
}
