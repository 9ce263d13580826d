package transform

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/countydatasync/countysync/internal/record"
	"github.com/expr-lang/expr"
)

// MaxStringLen bounds the length in bytes of any string a transformation
// function or the + operator builds, so a nested replace() or concatenation
// cannot exhaust memory.
const MaxStringLen = 16 << 20

func checkLen(n int) error {
	if n > MaxStringLen {
		return fmt.Errorf("%w: string of %d bytes exceeds the limit of %d", ErrBudgetExceeded, n, MaxStringLen)
	}
	return nil
}

// function is one function expressions can call.
type function struct {
	name  string
	fn    func(args ...any) (any, error)
	types []any // signatures for expr's compile-time arity check
}

// Signatures used for arity checks. The parameters are "any" because
// values only have types at run time.
var (
	sig1  = new(func(any) any)
	sig2  = new(func(any, any) any)
	sig3  = new(func(any, any, any) any)
	sigN1 = new(func(any, ...any) any)
	sigN0 = new(func(...any) any)
)

// functions is the function library (see doc.go for the documentation
// users read). Every function returns nil when a required argument is nil,
// except coalesce, nullif and concat, which exist to deal with NULLs.
var functions = []function{
	{"round", fnRound, []any{sig1, sig2}},
	{"abs", fnAbs, []any{sig1}},
	{"upper", stringFn("upper", strings.ToUpper), []any{sig1}},
	{"lower", stringFn("lower", strings.ToLower), []any{sig1}},
	{"trim", fnTrim, []any{sig1, sig2}},
	{"coalesce", fnCoalesce, []any{sigN1}},
	{"nullif", fnNullif, []any{sig2}},
	{"substr", fnSubstr, []any{sig2, sig3}},
	{"replace", fnReplace, []any{sig3}},
	{"concat", fnConcat, []any{sigN0}},
	{"left", fnLeft, []any{sig2}},
	{"right", fnRight, []any{sig2}},
	{"strip_non_digits", stringFn("strip_non_digits", stripNonDigits), []any{sig1}},
	{"to_int", fnToInt, []any{sig1}},
	{"int", fnToInt, []any{sig1}},
	{"to_float", fnToFloat, []any{sig1}},
	{"float", fnToFloat, []any{sig1}},
	{"string", fnString, []any{sig1}},
	{"join", fnJoin, []any{sig1, sig2}},
}

// disabledBuiltins are expr builtins that are replaced by the functions
// above (same name, NULL-safe and Decimal-aware) or removed because their
// memory use is not bounded by the VM's budget (repeat, toJSON, toBase64:
// nested calls grow their output geometrically).
var disabledBuiltins = []string{
	"round", "abs", "upper", "lower", "trim", "replace", "concat",
	"int", "float", "string", "join", "repeat", "toJSON", "toBase64",
}

// libraryOptions are the expr options every expression compiles with,
// apart from its own patcher.
var libraryOptions = func() []expr.Option {
	var opts []expr.Option
	for _, name := range disabledBuiltins {
		opts = append(opts, expr.DisableBuiltin(name))
	}
	for _, f := range functions {
		opts = append(opts, expr.Function(f.name, f.fn, f.types...))
	}
	for name, fn := range dynFuncs {
		opts = append(opts, expr.Function(name, func(args ...any) (any, error) {
			return fn(args[0], args[1])
		}, sig2))
	}
	opts = append(opts, expr.Function(opNeg, func(args ...any) (any, error) {
		return negate(args[0]), nil
	}, sig1))
	return opts
}()

// argError reports a wrongly typed argument.
func argError(fn string, pos int, want string, got any) error {
	return fmt.Errorf("%s: argument %d must be %s, not %s", fn, pos, want, typeName(got))
}

// intArg converts an integer-valued argument (int, integral float or
// Decimal) to int.
func intArg(fn string, pos int, x any) (int, error) {
	switch v := x.(type) {
	case int:
		return v, nil
	case int64:
		return int(v), nil
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int(v), nil
		}
	case *Decimal:
		if i, ok := v.int64(); ok && i == int64(int(i)) {
			return int(i), nil
		}
	}
	return 0, argError(fn, pos, "an integer", x)
}

// fnRound implements round(x[, n]).
func fnRound(args ...any) (any, error) {
	if args[0] == nil {
		return nil, nil
	}
	n := 0
	if len(args) > 1 {
		if args[1] == nil {
			return nil, nil
		}
		var err error
		if n, err = intArg("round", 2, args[1]); err != nil {
			return nil, err
		}
	}
	switch v := args[0].(type) {
	case *Decimal:
		return v.round(n)
	case int:
		if n >= 0 {
			return v, nil
		}
		d, err := decimalFromInt(int64(v)).round(n)
		if err != nil {
			return nil, err
		}
		if i, ok := d.int64(); ok {
			return int(i), nil
		}
		return nil, fmt.Errorf("round: %d out of integer range after rounding", v)
	case float64:
		return roundFloat(v, n)
	}
	return nil, argError("round", 1, "a number", args[0])
}

// roundFloat rounds f half away from zero to n decimals, on the shortest
// decimal form of f (so round(1.005, 2) is 1.01, as the digits suggest,
// although the binary double nearest 1.005 is slightly below it).
func roundFloat(f float64, n int) (any, error) {
	d, ok := decimalFromFloat(f)
	if !ok {
		return f, nil // NaN and infinities round to themselves
	}
	r, err := d.round(n)
	if err != nil {
		return nil, err
	}
	return r.Float64(), nil
}

// fnAbs implements abs(x).
func fnAbs(args ...any) (any, error) {
	switch v := args[0].(type) {
	case nil:
		return nil, nil
	case *Decimal:
		return v.abs(), nil
	case int:
		if v == math.MinInt {
			return nil, errors.New("abs: integer overflow")
		}
		if v < 0 {
			return -v, nil
		}
		return v, nil
	case float64:
		return math.Abs(v), nil
	}
	return nil, argError("abs", 1, "a number", args[0])
}

// stringFn adapts a string → string function into a NULL-safe function of
// one argument.
func stringFn(name string, f func(string) string) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		switch v := args[0].(type) {
		case nil:
			return nil, nil
		case string:
			r := f(v)
			if err := checkLen(len(r)); err != nil {
				return nil, err
			}
			return r, nil
		}
		return nil, argError(name, 1, "text", args[0])
	}
}

// strArg returns args[i] as a string; ok is false (and err nil) when it is nil.
func strArg(fn string, args []any, i int) (s string, ok bool, err error) {
	switch v := args[i].(type) {
	case nil:
		return "", false, nil
	case string:
		return v, true, nil
	}
	return "", false, argError(fn, i+1, "text", args[i])
}

// fnTrim implements trim(s[, chars]).
func fnTrim(args ...any) (any, error) {
	s, ok, err := strArg("trim", args, 0)
	if !ok {
		return nil, err
	}
	if len(args) == 1 {
		return strings.TrimSpace(s), nil
	}
	chars, ok, err := strArg("trim", args, 1)
	if !ok {
		return nil, err
	}
	return strings.Trim(s, chars), nil
}

// fnCoalesce returns its first non-nil argument, or nil.
func fnCoalesce(args ...any) (any, error) {
	for _, a := range args {
		if a != nil {
			return a, nil
		}
	}
	return nil, nil
}

// fnNullif returns nil if a equals b (with Decimal-aware ==), else a.
func fnNullif(args ...any) (any, error) {
	if args[0] != nil && equal(args[0], args[1]) {
		return nil, nil
	}
	return args[0], nil
}

// runeRange returns the byte offsets in s of the runes with 0-based
// indexes [from, to), clamped to s.
func runeRange(s string, from, to int) string {
	if from < 0 {
		from = 0
	}
	if to <= from {
		return ""
	}
	start, end := len(s), len(s)
	i := 0
	for off := range s {
		if i == from {
			start = off
		}
		if i == to {
			end = off
			break
		}
		i++
	}
	if start > end {
		return ""
	}
	return s[start:end]
}

// fnSubstr implements substr(s, start[, len]) with SQL's 1-based positions:
// characters from position start, at most len of them; positions before 1
// count towards len as in PostgreSQL (substr('hello', 0, 3) = 'he').
func fnSubstr(args ...any) (any, error) {
	s, ok, err := strArg("substr", args, 0)
	if !ok {
		return nil, err
	}
	if args[1] == nil || len(args) > 2 && args[2] == nil {
		return nil, nil
	}
	start, err := intArg("substr", 2, args[1])
	if err != nil {
		return nil, err
	}
	if len(args) == 2 {
		return runeRange(s, start-1, math.MaxInt), nil
	}
	n, err := intArg("substr", 3, args[2])
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, errors.New("substr: negative length")
	}
	end := math.MaxInt // to the end if start-1+n overflows
	if start <= 0 || n <= math.MaxInt-start {
		end = start - 1 + n
	}
	return runeRange(s, start-1, end), nil
}

// fnReplace implements replace(s, old, new): every occurrence of old is
// replaced; an empty old leaves s unchanged (as in PostgreSQL).
func fnReplace(args ...any) (any, error) {
	var str [3]string
	for i := range str {
		s, ok, err := strArg("replace", args, i)
		if !ok {
			return nil, err
		}
		str[i] = s
	}
	s, old, repl := str[0], str[1], str[2]
	if old == "" {
		return s, nil
	}
	if n := strings.Count(s, old); n > 0 {
		if err := checkLen(len(s) + n*(len(repl)-len(old))); err != nil {
			return nil, err
		}
	}
	return strings.ReplaceAll(s, old, repl), nil
}

// fnConcat joins the text of its arguments, skipping nils (as PostgreSQL's
// concat does). Non-string arguments are converted as string(x) converts
// them.
func fnConcat(args ...any) (any, error) {
	var b strings.Builder
	for _, a := range args {
		if a == nil {
			continue
		}
		s, err := toText(a)
		if err != nil {
			return nil, err
		}
		if err := checkLen(b.Len() + len(s)); err != nil {
			return nil, err
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// fnLeft implements left(s, n): the first n characters; with n < 0 all but
// the last |n| characters.
func fnLeft(args ...any) (any, error) {
	s, ok, err := strArg("left", args, 0)
	if !ok || args[1] == nil {
		return nil, err
	}
	n, err := intArg("left", 2, args[1])
	if err != nil {
		return nil, err
	}
	if n < 0 {
		n = utf8.RuneCountInString(s) + n
	}
	return runeRange(s, 0, n), nil
}

// fnRight implements right(s, n): the last n characters; with n < 0 all
// but the first |n| characters.
func fnRight(args ...any) (any, error) {
	s, ok, err := strArg("right", args, 0)
	if !ok || args[1] == nil {
		return nil, err
	}
	n, err := intArg("right", 2, args[1])
	if err != nil {
		return nil, err
	}
	count := utf8.RuneCountInString(s)
	if n < 0 {
		return runeRange(s, -n, count), nil
	}
	return runeRange(s, count-n, count), nil
}

// stripNonDigits keeps the ASCII digits 0-9 of s.
func stripNonDigits(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			b = append(b, c)
		}
	}
	return string(b)
}

// fnToInt implements to_int(x) (also callable as int(x)): numbers are
// truncated toward zero, strings are parsed as decimal numbers (surrounding
// spaces allowed) and truncated, an empty or blank string gives nil, and
// booleans give 0 or 1.
func fnToInt(args ...any) (any, error) {
	switch v := args[0].(type) {
	case nil:
		return nil, nil
	case int:
		return v, nil
	case float64:
		t := math.Trunc(v)
		if math.IsNaN(v) || t < math.MinInt64 || t >= math.MaxInt64 {
			return nil, fmt.Errorf("to_int: %v is out of integer range", v)
		}
		return int(t), nil
	case *Decimal:
		t := v.trunc()
		if !t.coef.IsInt64() {
			return nil, fmt.Errorf("to_int: %s is out of integer range", v)
		}
		return int(t.coef.Int64()), nil
	case bool:
		if v {
			return 1, nil
		}
		return 0, nil
	case string:
		s := strings.TrimSpace(v)
		if s == "" {
			return nil, nil
		}
		if i, err := strconv.Atoi(s); err == nil {
			return i, nil
		}
		d, err := ParseDecimal(s)
		if err != nil {
			return nil, fmt.Errorf("to_int: %q is not a number", v)
		}
		return fnToInt(d)
	}
	return nil, argError("to_int", 1, "a number or text", args[0])
}

// fnToFloat implements to_float(x) (also callable as float(x)): numbers
// convert to the nearest float64, strings are parsed (surrounding spaces
// allowed; an empty or blank string gives nil), booleans give 0 or 1.
func fnToFloat(args ...any) (any, error) {
	switch v := args[0].(type) {
	case nil:
		return nil, nil
	case float64:
		return v, nil
	case int:
		return float64(v), nil
	case *Decimal:
		return v.Float64(), nil
	case bool:
		if v {
			return 1.0, nil
		}
		return 0.0, nil
	case string:
		s := strings.TrimSpace(v)
		if s == "" {
			return nil, nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("to_float: %q is not a number", v)
		}
		return f, nil
	}
	return nil, argError("to_float", 1, "a number or text", args[0])
}

// fnString implements string(x); see toText.
func fnString(args ...any) (any, error) {
	if args[0] == nil {
		return nil, nil
	}
	return toText(args[0])
}

// toText returns the text form of a non-nil value: strings as they are,
// Decimals with their exact digits, floats in their shortest round-trip
// form, times in RFC 3339 with fractional seconds, bytes as their raw
// content, arrays and maps as JSON.
func toText(x any) (string, error) {
	switch v := x.(type) {
	case string:
		return v, nil
	case *Decimal:
		return v.String(), nil
	case int:
		return strconv.Itoa(v), nil
	case float64:
		return string(record.AppendFloat(nil, v)), nil
	case bool:
		return strconv.FormatBool(v), nil
	case time.Time:
		return v.Format(time.RFC3339Nano), nil
	case time.Duration:
		return v.String(), nil
	case []byte:
		return string(v), nil
	case []any, map[string]any:
		if !jsonSizeWithin(v, MaxStringLen) {
			return "", checkLen(MaxStringLen + 1)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return "", fmt.Errorf("string: %w", err)
		}
		return string(b), nil
	case fmt.Stringer:
		return v.String(), nil
	}
	return fmt.Sprint(x), nil
}

// fnJoin implements join(array[, sep]): the text of the elements (as
// string(x) gives it) separated by sep; nil elements are skipped.
func fnJoin(args ...any) (any, error) {
	if args[0] == nil {
		return nil, nil
	}
	sep := ""
	if len(args) > 1 {
		s, ok, err := strArg("join", args, 1)
		if !ok {
			return nil, err
		}
		sep = s
	}
	var elems []any
	switch v := args[0].(type) {
	case []any:
		elems = v
	case []string:
		elems = make([]any, len(v))
		for i, s := range v {
			elems[i] = s
		}
	default:
		return nil, argError("join", 1, "an array", args[0])
	}
	var b strings.Builder
	first := true
	for _, e := range elems {
		if e == nil {
			continue
		}
		s, err := toText(e)
		if err != nil {
			return nil, err
		}
		n := len(s)
		if !first {
			n += len(sep)
		}
		if err := checkLen(b.Len() + n); err != nil {
			return nil, err
		}
		if !first {
			b.WriteString(sep)
		}
		b.WriteString(s)
		first = false
	}
	return b.String(), nil
}

// jsonSizeWithin reports whether the JSON encoding of x is likely to stay
// within limit bytes (strings are counted at their length, so escaping may
// add a little), without encoding it.
func jsonSizeWithin(x any, limit int) bool {
	n := 0
	var walk func(x any, depth int) bool
	walk = func(x any, depth int) bool {
		if depth > 10000 {
			return false
		}
		switch v := x.(type) {
		case string:
			n += len(v) + 2
		case []byte:
			n += len(v)*4/3 + 4
		case []any:
			n += 2
			for _, e := range v {
				n++
				if !walk(e, depth+1) {
					return false
				}
			}
		case []string:
			for _, e := range v {
				n += len(e) + 3
				if n > limit {
					return false
				}
			}
		case map[string]any:
			n += 2
			for k, e := range v {
				n += len(k) + 4
				if !walk(e, depth+1) {
					return false
				}
			}
		case *Decimal:
			n += digitCount(&v.coef) + 2
		default:
			n += 24
		}
		return n <= limit
	}
	return walk(x, 0)
}
