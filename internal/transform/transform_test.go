package transform

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/record"
	"github.com/twpayne/go-geom"
	"github.com/twpayne/go-geom/encoding/wkb"
)

func schemaOf(cols ...record.Column) *record.Schema { return &record.Schema{Columns: cols} }

func col(name string, kind record.Kind) record.Column { return record.Column{Name: name, Kind: kind} }

func mustBind(t testing.TB, exprs map[string]string, schema *record.Schema) *Bound {
	t.Helper()
	s, err := Compile(exprs)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	b, out, err := s.Bind(schema)
	if err != nil {
		t.Fatalf("Bind: %v", err)
	}
	if !reflect.DeepEqual(out, schema) || out == schema {
		t.Fatalf("Bind output schema = %+v, want a copy of %+v", out, schema)
	}
	return b
}

// TestDesignExamples covers the transformations a config typically shows
// (round(value, 2) on an amount, upper(value) on a status) and more:
// round on a numeric column keeps exact digits, upper handles Unicode,
// row references see the values before transformation.
func TestDesignExamples(t *testing.T) {
	schema := schemaOf(col("id", record.Int), col("amount", record.Numeric), col("status", record.Text),
		col("owner", record.Text), col("first", record.Text), col("last", record.Text), col("full", record.Text))
	b := mustBind(t, map[string]string{
		"amount": "round(value, 2)",
		"status": "upper(value)",
		"owner":  "value == nil ? '' : trim(value)",
		"full":   "row.first + ' ' + row.last",
		"first":  "upper(value)", // row.first in "full" must still see the original
	}, schema)

	tests := []struct {
		in, want record.Row
	}{
		{
			record.Row{record.IntValue(1), record.NumericValue("1.005"), record.TextValue("open"), {},
				record.TextValue("Ann"), record.TextValue("Lee"), {}},
			record.Row{record.IntValue(1), record.NumericValue("1.01"), record.TextValue("OPEN"), record.TextValue(""),
				record.TextValue("ANN"), record.TextValue("Lee"), record.TextValue("Ann Lee")},
		},
		{
			record.Row{record.IntValue(2), record.NumericValue("-12345678901234567890.125"), record.TextValue("ärger ñ éte"),
				record.TextValue("  Zoë  "), record.TextValue("Émile"), record.TextValue("Zola"), record.TextValue("old")},
			record.Row{record.IntValue(2), record.NumericValue("-12345678901234567890.13"), record.TextValue("ÄRGER Ñ ÉTE"),
				record.TextValue("Zoë"), record.TextValue("ÉMILE"), record.TextValue("Zola"), record.TextValue("Émile Zola")},
		},
		{
			record.Row{record.IntValue(3), record.NumericValue("7"), {}, record.TextValue(""),
				{}, record.TextValue("Lee"), {}},
			record.Row{record.IntValue(3), record.NumericValue("7.00"), {}, record.TextValue(""),
				{}, record.TextValue("Lee"), {}}, // NULL + ' ' + 'Lee' is NULL, as in SQL
		},
		{
			record.Row{record.IntValue(4), {}, record.TextValue(""), {}, record.TextValue("A"), record.TextValue("B"), {}},
			record.Row{record.IntValue(4), {}, record.TextValue(""), record.TextValue(""), record.TextValue("A"), record.TextValue("B"), record.TextValue("A B")},
		},
	}
	for i, tt := range tests {
		row := tt.in.Clone()
		if err := b.Apply(row); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		if !reflect.DeepEqual(row, tt.want) {
			t.Errorf("row %d:\n got %v\nwant %v", i, row, tt.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		expr, want string
	}{
		{"rond(value, 2)", `transformation of column "c": unknown function rond (1:1)`},
		{"valu + 1", `transformation of column "c": unknown name valu (1:1)`},
		{"value +", `transformation of column "c": unexpected token EOF (1:7)`},
		{"round(value, 2", `transformation of column "c": unexpected token EOF`},
		{"round(value, 1, 2)", `transformation of column "c": too many arguments to call round`},
		{"upper()", `transformation of column "c": not enough arguments to call upper`},
		{"repeat('a', 3)", `transformation of column "c": unknown function repeat`},
		{"  ", `transformation of column "c": empty expression`},
		{"'a' + 1", `transformation of column "c": invalid operation`},
		{strings.Repeat("1 + ", 3000) + "1", `transformation of column "c": compilation failed: expression exceeds maximum allowed nodes`},
	}
	for _, tt := range tests {
		_, err := Compile(map[string]string{"c": tt.expr})
		var ce *CompileError
		if !errors.As(err, &ce) {
			t.Errorf("%q: err = %v (%T), want a *CompileError", tt.expr, err, err)
			continue
		}
		if ce.Column != "c" || ce.Expr != tt.expr || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%q: err = %q, want prefix %q", tt.expr, err, tt.want)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: multi-line error %q", tt.expr, err)
		}
	}

	// Several failures: all reported, sorted by column.
	_, err := Compile(map[string]string{"z": "bad(", "a": "nope(1)", "m": "upper(value)"})
	var ces CompileErrors
	if !errors.As(err, &ces) || len(ces) != 2 || ces[0].Column != "a" || ces[1].Column != "z" {
		t.Fatalf("err = %v (%T), want CompileErrors for a and z", err, err)
	}
	var first *CompileError
	if !errors.As(err, &first) || first.Column != "a" {
		t.Errorf("errors.As on CompileErrors gave %v", first)
	}
	if !strings.HasPrefix(err.Error(), `transformation of column "a": unknown function nope (1:1); transformation of column "z"`) {
		t.Errorf("message = %q", err)
	}
}

func TestBindErrors(t *testing.T) {
	s, err := Compile(map[string]string{"amount": "round(value, 2)", "full": "row.first + row.lsat"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Bind(schemaOf(col("id", record.Int), col("full", record.Text), col("first", record.Text)))
	if err == nil || !strings.Contains(err.Error(), `transformation of column "amount": column "amount" is not in the query result`) {
		t.Errorf("missing transformed column: err = %v", err)
	}
	_, _, err = s.Bind(schemaOf(col("amount", record.Numeric), col("full", record.Text), col("first", record.Text)))
	if err == nil || !strings.Contains(err.Error(), `transformation of column "full": row.lsat: column "lsat" is not in the query result`) {
		t.Errorf("missing row column: err = %v", err)
	}
	if _, _, err := s.Bind(nil); err == nil {
		t.Error("Bind(nil) succeeded")
	}
}

func TestEmptySet(t *testing.T) {
	for _, s := range []*Set{nil, mustCompile(t, nil)} {
		b, out, err := s.Bind(schemaOf(col("a", record.Int)))
		if err != nil || len(out.Columns) != 1 {
			t.Fatalf("Bind: %v %v", out, err)
		}
		row := record.Row{record.IntValue(1)}
		if err := b.Apply(row); err != nil || row[0].I != 1 {
			t.Errorf("Apply changed %v, %v", row, err)
		}
		if s.Len() != 0 || len(s.Columns()) != 0 {
			t.Error("empty set has columns")
		}
	}
	var nb *Bound
	if err := nb.Apply(record.Row{}); err != nil {
		t.Error(err)
	}
}

func mustCompile(t testing.TB, exprs map[string]string) *Set {
	t.Helper()
	s, err := Compile(exprs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestIdentityAllKinds checks that "value" gives back every kind of value
// unchanged: the conversions to and from expressions are lossless.
func TestIdentityAllKinds(t *testing.T) {
	ts := time.Date(2025, 4, 11, 14, 30, 42, 123456000, time.UTC)
	point := geom.NewPointFlat(geom.XY, []float64{-93.1, 44.9})
	pointWKB, err := wkb.Marshal(point, wkb.NDR)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		kind record.Kind
		in   record.Value
		want record.Value // zero: same as in
	}{
		{record.Text, record.TextValue("héllo"), record.Value{}},
		{record.Text, record.TextValue(""), record.Value{}},
		{record.Int, record.IntValue(math.MaxInt64), record.Value{}},
		{record.Int, record.IntValue(-7), record.Value{}},
		{record.Float, record.FloatValue(0.1), record.Value{}},
		{record.Float, record.FloatValue(math.Inf(-1)), record.Value{}},
		{record.Numeric, record.NumericValue("-12345678901234567890.123456789000"), record.Value{}},
		{record.Numeric, record.NumericValue("0.00"), record.Value{}},
		{record.Numeric, record.NumericValue("NaN"), record.Value{}},
		{record.Bool, record.BoolValue(true), record.Value{}},
		{record.Bool, record.BoolValue(false), record.Value{}},
		{record.Date, record.DateValue(ts), record.Value{}},
		{record.Date, record.Value{Kind: record.Date, S: "infinity"}, record.Value{}},
		{record.Timestamp, record.TimestampValue(ts), record.Value{}},
		{record.TimestampTZ, record.TimestampTZValue(ts), record.Value{}},
		{record.TimestampTZ, record.Value{Kind: record.TimestampTZ, S: "-infinity"}, record.Value{}},
		{record.UUID, record.Value{Kind: record.UUID, S: "0e8f7a4c-58a1-4c5e-9d1a-6f0e2b3c4d5e"}, record.Value{}},
		{record.JSON, record.Value{Kind: record.JSON, S: `{"a":[1,2.50,12345678901234567890123],"b":null,"c":"<x>"}`}, record.Value{}},
		{record.Array, record.Value{Kind: record.Array, S: `[1,"two",3.0]`}, record.Value{}},
		{record.Bytes, record.BytesValue([]byte{0, 1, 2, 255}), record.Value{}},
		// Geometry comes back as the WKT the files get (see
		// TestGeometryTextMatchesCSV); what does not decode comes back as is.
		{record.Geometry, record.Value{Kind: record.Geometry, S: "POINT (1 2)"}, record.Value{Kind: record.Geometry, S: "POINT(1 2)"}},
		{record.Geometry, record.Value{Kind: record.Geometry, G: point}, record.Value{Kind: record.Geometry, S: "POINT(-93.1 44.9)"}},
		{record.Geometry, record.Value{Kind: record.Geometry, B: pointWKB}, record.Value{Kind: record.Geometry, S: "POINT(-93.1 44.9)"}},
		{record.Geometry, record.Value{Kind: record.Geometry, S: "POINT (1"}, record.Value{}},
		{record.Geometry, record.Value{Kind: record.Geometry, B: pointWKB[:9]}, record.Value{}},
	}
	for _, tc := range cases {
		b := mustBind(t, map[string]string{"c": "value"}, schemaOf(col("c", tc.kind)))
		row := record.Row{tc.in}
		if err := b.Apply(row); err != nil {
			t.Errorf("%s %v: %v", tc.kind, tc.in, err)
			continue
		}
		want := tc.want
		if want.Kind == record.Null {
			want = tc.in
		}
		got := row[0]
		if tc.kind == record.Float && math.IsInf(want.F, 0) && got.F == want.F {
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: identity gave %#v, want %#v", tc.kind, got, want)
		}
	}
}

func TestResultConversion(t *testing.T) {
	ts := time.Date(2025, 4, 11, 14, 30, 42, 5000, time.FixedZone("CEST", 2*3600))
	cases := []struct {
		kind   record.Kind
		expr   string
		in     record.Value
		want   record.Value
		errSub string
	}{
		{record.Numeric, "value * 3", record.NumericValue("0.10"), record.NumericValue("0.30"), ""},
		{record.Numeric, "to_float(value) * 3", record.NumericValue("0.1"), record.NumericValue("0.30000000000000004"), ""},
		{record.Numeric, "42", record.NumericValue("1"), record.NumericValue("42"), ""},
		{record.Numeric, "' 12.50 '", record.NumericValue("1"), record.NumericValue("12.50"), ""},
		{record.Numeric, "'abc'", record.NumericValue("1"), record.Value{}, `numeric column cannot hold the string "abc"`},
		{record.Numeric, "1e300 * 1e300", record.NumericValue("1"), record.Value{}, "cannot hold +Inf"},
		{record.Int, "value * 2.0", record.IntValue(21), record.IntValue(42), ""},
		{record.Int, "value / 2", record.IntValue(21), record.Value{}, "integer column cannot hold 10.5"},
		{record.Int, "round(row.n)", record.IntValue(0), record.IntValue(3), ""},
		{record.Int, "row.n", record.IntValue(0), record.Value{}, "integer column cannot hold 2.50"},
		{record.Float, "row.n", record.FloatValue(0), record.FloatValue(2.5), ""},
		{record.Float, "value + 1", record.FloatValue(0.5), record.FloatValue(1.5), ""},
		{record.Int, "value > 1", record.IntValue(2), record.Value{}, "an integer column cannot hold a boolean result"},
		{record.Bool, "!value", record.BoolValue(true), record.BoolValue(false), ""},
		{record.Text, "value", record.IntValue(2), record.Value{}, "a text column cannot hold an integer result"},
		{record.Text, "string(value)", record.IntValue(2), record.TextValue("2"), ""},
		{record.Text, "nil", record.TextValue("x"), record.Value{}, ""},
		{record.TimestampTZ, "value", record.TimestampTZValue(ts), record.TimestampTZValue(ts), ""},
		{record.TimestampTZ, "'2025-04-11 12:30:42.000005+00'", record.TextValue(""), record.TimestampTZValue(ts), ""},
		{record.Timestamp, "value.Add(duration('1h'))", record.TimestampValue(ts), record.TimestampValue(ts.Add(time.Hour)), ""},
		{record.Date, "'2025-04-11'", record.TextValue(""), record.DateValue(ts), ""},
		{record.Date, "'Infinity'", record.TextValue(""), record.Value{Kind: record.Date, S: "infinity"}, ""},
		{record.Date, "'someday'", record.TextValue(""), record.Value{}, `date column cannot hold the string "someday"`},
		{record.UUID, "upper(value)", record.Value{Kind: record.UUID, S: "0e8f7a4c-58a1-4c5e-9d1a-6f0e2b3c4d5e"},
			record.Value{Kind: record.UUID, S: "0e8f7a4c-58a1-4c5e-9d1a-6f0e2b3c4d5e"}, ""},
		{record.UUID, "'nope'", record.TextValue(""), record.Value{}, `"nope" is not a UUID`},
		{record.JSON, "value.a", record.Value{Kind: record.JSON, S: `{"a":{"b":[1.50,true]}}`}, record.Value{Kind: record.JSON, S: `{"b":[1.50,true]}`}, ""},
		{record.JSON, "'a<b'", record.TextValue(""), record.Value{Kind: record.JSON, S: `"a<b"`}, ""},
		{record.Array, "map(value, # * 2)", record.Value{Kind: record.Array, S: `[1,2.5]`}, record.Value{Kind: record.Array, S: `[2,5.0]`}, ""},
		{record.Array, "'x'", record.TextValue(""), record.Value{}, "an array column cannot hold a text result"},
		{record.Bytes, "'abc'", record.TextValue(""), record.BytesValue([]byte("abc")), ""},
		{record.Geometry, "'POINT (0 0)'", record.TextValue(""), record.Value{Kind: record.Geometry, S: "POINT (0 0)"}, ""},
		{record.Text, "{'a': 1}", record.TextValue(""), record.Value{}, "a text column cannot hold a JSON object result"},
	}
	for _, tc := range cases {
		schema := schemaOf(col("c", tc.kind), col("n", record.Numeric))
		b := mustBind(t, map[string]string{"c": tc.expr}, schema)
		row := record.Row{tc.in, record.NumericValue("2.50")}
		err := b.Apply(row)
		if tc.errSub != "" {
			var re *RowError
			if !errors.As(err, &re) || re.Column != "c" || re.Expr != tc.expr || !strings.Contains(err.Error(), tc.errSub) {
				t.Errorf("%s %q: err = %v, want a RowError containing %q", tc.kind, tc.expr, err, tc.errSub)
			}
			if !reflect.DeepEqual(row[0], tc.in) {
				t.Errorf("%s %q: failed Apply changed the row to %v", tc.kind, tc.expr, row[0])
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %q: %v", tc.kind, tc.expr, err)
			continue
		}
		got, want := row[0], tc.want
		if got.Kind != want.Kind || got.S != want.S || got.I != want.I || got.F != want.F ||
			!got.T.Equal(want.T) || string(got.B) != string(want.B) {
			t.Errorf("%s %q = %#v, want %#v", tc.kind, tc.expr, got, want)
		}
	}
}

func TestRowErrors(t *testing.T) {
	schema := schemaOf(col("a", record.Int), col("s", record.Text))
	cases := []struct {
		expr   string
		errSub string
		budget bool
	}{
		{"len(1..100000000 | map(# * 2))", "memory budget", true},
		{"reduce(1..1000, reduce(1..1000, #acc + 1, 0) + #acc, 0)", "memory budget", true},
		{"len(map(1..999, map(1..999, map(1..999, #))))", "memory budget", true},
		{"len(reduce(1..64, #acc + #acc, row.s))", "memory budget", true},
		{"len(replace(replace(replace(replace(replace(string(row.s), 'a', row.s), 'a', row.s), 'a', row.s), 'a', row.s), 'a', row.s))", "memory budget", true},
		{"value % 0", "integer divide by zero", false},
		{"1 / (value - 5)", "integer column cannot hold +Inf", false},
		{"value.x", "cannot fetch x", false},
		{"upper(value)", "upper: argument 1 must be text, not integer", false},
		{"[1,2,3][value]", "index out of range", false},
		{"value ? 1 : 2", "", false},
		{"to_int(row.s)", "not a number", false},
		{"date('not a date')", "", false},
	}
	longA := strings.Repeat("a", 4096)
	for _, tc := range cases {
		b := mustBind(t, map[string]string{"a": tc.expr}, schema)
		row := record.Row{record.IntValue(5), record.TextValue(longA)}
		start := time.Now()
		err := b.Apply(row)
		elapsed := time.Since(start)
		var re *RowError
		if !errors.As(err, &re) || re.Column != "a" || re.Expr != tc.expr || !strings.Contains(err.Error(), tc.errSub) {
			t.Errorf("%q: err = %v, want a RowError containing %q", tc.expr, err, tc.errSub)
			continue
		}
		if tc.budget != errors.Is(err, ErrBudgetExceeded) {
			t.Errorf("%q: errors.Is(err, ErrBudgetExceeded) = %v: %v", tc.expr, !tc.budget, err)
		}
		if !strings.HasPrefix(err.Error(), `transformation of column "a" (`+tc.expr+`): `) {
			t.Errorf("%q: message %q", tc.expr, err)
		}
		if elapsed > 5*time.Second {
			t.Errorf("%q took %v", tc.expr, elapsed)
		}
		if row[0].I != 5 {
			t.Errorf("%q: failed Apply changed the row", tc.expr)
		}
	}
}

func TestApplyRowWidth(t *testing.T) {
	b := mustBind(t, map[string]string{"a": "value"}, schemaOf(col("a", record.Int)))
	if err := b.Apply(record.Row{{}, {}}); err == nil {
		t.Error("Apply accepted a row of the wrong width")
	}
}

// TestRowDynamic uses row in ways that need every column.
func TestRowDynamic(t *testing.T) {
	schema := schemaOf(col("a", record.Text), col("b", record.Int), col("k", record.Int))
	b := mustBind(t, map[string]string{
		"a": "join(map(sort(keys(row)), # + '=' + string(row[#])), ',')",
		"k": "len(keys(row))",
	}, schema)
	row := record.Row{record.TextValue("x"), record.IntValue(2), {}}
	if err := b.Apply(row); err != nil {
		t.Fatal(err)
	}
	if row[0].S != "a=x,b=2" || row[2].I != 3 {
		t.Errorf("row = %v", row)
	}
}

func TestConcurrentApply(t *testing.T) {
	schema := schemaOf(col("amount", record.Numeric), col("name", record.Text), col("full", record.Text))
	b := mustBind(t, map[string]string{
		"amount": "round(value * 1.1, 2)",
		"name":   "upper(value)",
		"full":   "concat(row.name, '/', row.amount)",
	}, schema)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				row := record.Row{record.NumericValue("10.00"), record.TextValue("ab"), {}}
				if err := b.Apply(row); err != nil {
					t.Error(err)
					return
				}
				if row[0].S != "11.00" || row[1].S != "AB" || row[2].S != "ab/10.00" {
					t.Errorf("goroutine %d: row = %v", g, row)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestSetColumns(t *testing.T) {
	s := mustCompile(t, map[string]string{"b": "value", "a": "value"})
	if got := s.Columns(); !reflect.DeepEqual(got, []string{"a", "b"}) || s.Len() != 2 {
		t.Errorf("Columns = %v", got)
	}
}
