package transform

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr/vm"
)

func posInf() float64 { return math.Inf(1) }

// eval compiles src and runs it with the given value and row, the way
// Apply does but without converting to and from record values.
func eval(t testing.TB, src string, value any, row map[string]any) (any, error) {
	t.Helper()
	p, err := compileOne("c", src)
	if err != nil {
		t.Fatalf("compile %q: %v", src, err)
	}
	machine := vm.VM{MemoryBudget: MemoryBudget}
	out, err := machine.Run(p.prog, &env{Value: value, Row: row})
	if err != nil {
		return nil, wrapExprError(err, src)
	}
	return out, nil
}

// norm turns Decimals into their text so results compare with DeepEqual.
func norm(x any) any {
	if d, ok := x.(*Decimal); ok {
		return "dec:" + d.String()
	}
	return x
}

type evalCase struct {
	src   string
	value any
	want  any    // a *Decimal is given as "dec:<digits>"
	err   string // substring of the expected error
}

func runEvalCases(t *testing.T, cases []evalCase) {
	t.Helper()
	for _, tc := range cases {
		got, err := eval(t, tc.src, tc.value, map[string]any{"a": "x", "n": nil})
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s with value %#v: err = %v, want %q", tc.src, tc.value, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s with value %#v: %v", tc.src, tc.value, err)
			continue
		}
		if g := norm(got); !reflect.DeepEqual(g, tc.want) {
			t.Errorf("%s with value %#v = %#v, want %#v", tc.src, tc.value, g, tc.want)
		}
	}
}

func dec(s string) *Decimal {
	d, err := ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestFunctionRound(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"round(value, 2)", dec("1.005"), "dec:1.01", ""},
		{"round(value, 2)", dec("-1.005"), "dec:-1.01", ""},
		{"round(value, 2)", dec("7"), "dec:7.00", ""},
		{"round(value)", dec("2.5"), "dec:3", ""},
		{"round(value, -1)", dec("15"), "dec:20", ""},
		{"round(value, 2)", 1.005, 1.01, ""},
		{"round(value, 1)", -0.25, -0.3, ""},
		{"round(value)", 2.5, 3.0, ""},
		{"round(value, 2)", 7, 7, ""},
		{"round(value, -2)", 1250, 1300, ""},
		{"round(value, 2)", nil, nil, ""},
		{"round(value, nil)", dec("1"), nil, ""},
		{"round(value, 2.0)", dec("1.234"), "dec:1.23", ""},
		{"round(value, 2)", "1.5", nil, "round: argument 1 must be a number, not text"},
		{"round(value, 1.5)", dec("1"), nil, "round: argument 2 must be an integer"},
	})
	got, err := eval(t, "round(value, 2)", math.NaN(), nil)
	if f, ok := got.(float64); err != nil || !ok || !math.IsNaN(f) {
		t.Errorf("round(NaN, 2) = %v, %v", got, err)
	}
}

func TestFunctionAbs(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"abs(value)", dec("-12.50"), "dec:12.50", ""},
		{"abs(value)", dec("3"), "dec:3", ""},
		{"abs(value)", -3, 3, ""},
		{"abs(value)", -2.5, 2.5, ""},
		{"abs(value)", nil, nil, ""},
		{"abs(value)", "x", nil, "abs: argument 1 must be a number"},
		{"abs(value)", math.MinInt, nil, "overflow"},
	})
}

func TestFunctionUpperLowerTrim(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"upper(value)", "straße ünïcode ǆ", "STRAßE ÜNÏCODE Ǆ", ""}, // per character: ß has no one-rune upper case
		{"upper(value)", "", "", ""},
		{"upper(value)", nil, nil, ""},
		{"upper(value)", 1, nil, "upper: argument 1 must be text, not integer"},
		{"lower(value)", "ÀÉÎ Ω", "àéî ω", ""},
		{"lower(value)", nil, nil, ""},
		{"trim(value)", " \t x y \n\u00a0", "x y", ""},
		{"trim(value, '*-')", "-*a*-", "a", ""},
		{"trim(value)", nil, nil, ""},
		{"trim(value, nil)", "x", nil, ""},
		{"trim(value)", 2, nil, "trim: argument 1 must be text, not integer"},
	})
}

func TestFunctionCoalesceNullif(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"coalesce(value, 'none')", nil, "none", ""},
		{"coalesce(value, 'none')", "x", "x", ""},
		{"coalesce(nil, nil, value)", nil, nil, ""},
		{"coalesce(row.n, row.a)", nil, "x", ""},
		{"coalesce(value)", dec("1.0"), "dec:1.0", ""},
		{"nullif(value, '')", "", nil, ""},
		{"nullif(value, '')", "a", "a", ""},
		{"nullif(value, 0)", dec("0.00"), nil, ""},
		{"nullif(value, 0)", dec("0.01"), "dec:0.01", ""},
		{"nullif(value, 'x')", nil, nil, ""},
		{"nullif(value, nil)", 3, 3, ""},
	})
}

func TestFunctionSubstrLeftRight(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"substr(value, 2)", "héllo", "éllo", ""},
		{"substr(value, 2, 3)", "héllo", "éll", ""},
		{"substr(value, 0, 3)", "hello", "he", ""},
		{"substr(value, -5, 3)", "hello", "", ""},
		{"substr(value, 4, 100)", "hello", "lo", ""},
		{"substr(value, 9)", "hello", "", ""},
		{"substr(value, 1, 0)", "hello", "", ""},
		{"substr(value, 1, -1)", "hello", nil, "negative length"},
		{"substr(value, 2)", nil, nil, ""},
		{"substr(value, nil)", "x", nil, ""},
		{"substr(value, 1, nil)", "x", nil, ""},
		{"substr(value, 'a')", "x", nil, "substr: argument 2 must be an integer"},
		{"left(value, 2)", "ñandú", "ña", ""},
		{"left(value, -2)", "ñandú", "ñan", ""},
		{"left(value, 10)", "ab", "ab", ""},
		{"left(value, -10)", "ab", "", ""},
		{"left(value, 2)", nil, nil, ""},
		{"right(value, 2)", "ñandú", "dú", ""},
		{"right(value, -2)", "ñandú", "ndú", ""},
		{"right(value, 10)", "ab", "ab", ""},
		{"right(value, -10)", "ab", "", ""},
		{"right(value, nil)", "ab", nil, ""},
		{"right(value, 1)", 5, nil, "right: argument 1 must be text"},
	})
}

func TestFunctionReplaceConcatDigitsJoin(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"replace(value, '-', '')", "555-12-34", "5551234", ""},
		{"replace(value, '', 'x')", "abc", "abc", ""},
		{"replace(value, 'a', 'ä')", "banana", "bänänä", ""},
		{"replace(value, 'a', nil)", "banana", nil, ""},
		{"replace(value, 'a', 'b')", nil, nil, ""},
		{"concat(value, '-', 1, '-', 2.5, true)", "a", "a-1-2.5true", ""},
		{"concat(value, 'x', nil)", nil, "x", ""},
		{"concat()", nil, "", ""},
		{"concat(value)", dec("1.50"), "1.50", ""},
		{"strip_non_digits(value)", "(555) 123-4567 ext. ٣", "5551234567", ""},
		{"strip_non_digits(value)", nil, nil, ""},
		{"join(value, ', ')", []any{"a", nil, 1, "b"}, "a, 1, b", ""},
		{"join(split(value, ' '), '_')", "a b c", "a_b_c", ""},
		{"join(value)", nil, nil, ""},
	})
}

func TestFunctionConversions(t *testing.T) {
	ts := time.Date(2025, 4, 11, 14, 30, 42, 123456000, time.UTC)
	runEvalCases(t, []evalCase{
		{"to_int(value)", dec("42.9"), 42, ""},
		{"to_int(value)", dec("-42.9"), -42, ""},
		{"int(value)", 3.99, 3, ""},
		{"to_int(value)", " 17 ", 17, ""},
		{"to_int(value)", "17.5", 17, ""},
		{"to_int(value)", "  ", nil, ""},
		{"to_int(value)", true, 1, ""},
		{"to_int(value)", nil, nil, ""},
		{"to_int(value)", "x1", nil, `to_int: "x1" is not a number`},
		{"to_int(value)", dec("1e30"), nil, "out of integer range"},
		{"to_float(value)", dec("0.1"), 0.1, ""},
		{"float(value)", dec("1.25"), 1.25, ""},
		{"to_float(value)", 2, 2.0, ""},
		{"to_float(value)", "2.5e3", 2500.0, ""},
		{"to_float(value)", "", nil, ""},
		{"to_float(value)", nil, nil, ""},
		{"to_float(value)", "abc", nil, "not a number"},
		{"string(value)", dec("-0.50"), "-0.50", ""},
		{"string(value)", 12, "12", ""},
		{"string(value)", 0.1, "0.1", ""},
		{"string(value)", true, "true", ""},
		{"string(value)", ts, "2025-04-11T14:30:42.123456Z", ""},
		{"string(value)", []byte("raw"), "raw", ""},
		{"string(value)", map[string]any{"a": []any{1, dec("2.50")}}, `{"a":[1,2.50]}`, ""},
		{"string(value)", nil, nil, ""},
	})
}

func TestOperators(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"value * 2", dec("10.25"), "dec:20.50", ""},
		{"2 * value", dec("10.25"), "dec:20.50", ""},
		{"value + 1.5", dec("10.25"), "dec:11.75", ""},
		{"value * 1.1", dec("10"), "dec:11.0", ""},
		{"value - value", dec("10.25"), "dec:0.00", ""},
		{"value / 4", dec("10"), "dec:2.5000000000000000", ""},
		{"round(value / 3, 2)", dec("10"), "dec:3.33", ""},
		{"value % 3", dec("10.5"), "dec:1.5", ""},
		{"value ** 2", dec("1.5"), 2.25, ""},
		{"-value", dec("1.5"), "dec:-1.5", ""},
		{"-value", 3, -3, ""},
		{"-value", nil, nil, ""},
		{"value > 100", dec("100.01"), true, ""},
		{"value > 100", dec("100.00"), false, ""},
		{"value >= 100", dec("100.00"), true, ""},
		{"value < 0.5", dec("0.49"), true, ""},
		{"value <= value", dec("1"), true, ""},
		{"value == 1.5", dec("1.50"), true, ""},
		{"value != 1.5", dec("1.50"), false, ""},
		{"value == nil", dec("0"), false, ""},
		{"value == nil", nil, true, ""},
		{"value > 100 ? 'big' : 'small'", nil, "small", ""},
		{"value + 1", nil, nil, ""},
		{"value * 2", 21, 42, ""},
		{"value / 2", 21, 10.5, ""},
		{"value + 'b'", "a", "ab", ""},
		{"row.a + '-' + value", "y", "x-y", ""},
		{"row.n + 'x'", nil, nil, ""},
		{"value + 'x'", dec("1"), nil, "invalid operation: numeric + text"},
		{"value > 'x'", dec("1"), nil, "invalid operation: numeric > text"},
		{"value / 0", dec("1"), nil, "division by zero"},
		{"value + 1", "a", nil, "invalid operation"},
		{"1 + 2 * 3", nil, 7, ""},
		{"value ?? 'd'", nil, "d", ""},
		{"value.price * 2", map[string]any{"price": dec("19.99")}, "dec:39.98", ""},
		{"value > 1.0", posInf(), true, ""},
	})
}
