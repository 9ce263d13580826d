package format

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/countydatasync/countysync/internal/record"
)

type obj = map[string]any
type num = json.Number

// wantObjects is the fixture as the JSON writer must render it, written by
// hand from the table in docs/ARCHITECTURE.md, Values per format.
func wantObjects() []obj {
	nulls := func(o obj) obj {
		for _, c := range fixtureSchema.Columns {
			if _, ok := o[c.Name]; !ok {
				o[c.Name] = nil
			}
		}
		return o
	}
	return []obj{
		nulls(obj{
			"id": num("1"), "name": "Alice", "note": "He said \"hi\", then left\nnext line\ttab\r!",
			"amount": num("12345678901234567890.1234567890"), "price": num("1234.50"), "ratio": num("0.1"),
			"flag": true, "day": "2025-04-11", "ts": "2025-04-11T12:30:42.123456Z", "local": "2025-04-11T14:30:42.5",
			"uid":   "0b6f8a8e-3c1d-4f5e-9a7b-2c3d4e5f6a7b",
			"attrs": obj{"a": num("1"), "b": []any{true, nil}, "c": "x\"y"},
			"tags":  []any{"x", "y,z"}, "raw": "AAEC/w==",
			"geom":        "POLYGON((-122.5 37.5,-122.5 37.6,-122.123456789 37.6,-122.4 37.5,-122.5 37.5),(-122.45 37.52,-122.42 37.52,-122.42 37.55,-122.45 37.52))",
			`we"ird, col`: `a "quoted" value`, "select": "from",
		}),
		nulls(obj{
			"id": num("2"), "name": "", "amount": num("1.5000000000"), "price": num("-0.01"),
			"flag": false, "day": "2025-04-12", "ts": "2025-01-02T03:04:05Z", "local": "2025-01-02T03:04:05",
			"tags": []any{}, "raw": "", "geom": "MULTIPOLYGON(((0 0,1 0,1 1,0 1,0 0)),((2 2,2 3,3 3,3 2,2 2)))",
			`we"ird, col`: `\.`, "select": ",",
		}),
		nulls(obj{
			"id": num("3"), "name": "Zoë 北京 😀 \u2028 \u2029", "note": "\x01ctrl\x1f\\",
			"attrs": "just a string", "geom": "POLYGON EMPTY",
		}),
		nulls(obj{"id": num("4"), "note": " leading and trailing ", "amount": num("-0.0000000001"), "price": num("100.00"),
			"geom": "POLYGON((garbage"}), // did not decode: the source's text
		nulls(obj{"id": num("5")}),
		nulls(obj{
			"id": num("6"), "name": "bad\uFFFDbyte", "note": "1e21 and 1e-7", "amount": num("42"), "price": num("0"),
			"ratio": num("1e+21"), "geom": "POINT(1.5 -2.25)",
		}),
		nulls(obj{"id": num("7"), "ratio": num("1e-7")}),
	}
}

func decodeUseNumber(t *testing.T, data []byte, v any) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		t.Fatalf("decode: %v\n%s", err, data)
	}
	if d.More() {
		t.Fatalf("trailing data after the JSON value")
	}
}

func TestJSON(t *testing.T) {
	path := writeAll(t, "json", fixtureOptions(), fixtureRows())
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(raw) {
		t.Fatalf("invalid JSON:\n%s", raw)
	}
	var got []obj
	decodeUseNumber(t, raw, &got)
	want := wantObjects()
	if len(got) != len(want) {
		t.Fatalf("got %d objects, want %d", len(got), len(want))
	}
	for i := range want {
		for k, wv := range want[i] {
			gv, ok := got[i][k]
			if !ok {
				t.Errorf("object %d: key %q missing", i, k)
				continue
			}
			if !reflect.DeepEqual(gv, wv) {
				t.Errorf("object %d key %q = %#v, want %#v", i, k, gv, wv)
			}
		}
		if len(got[i]) != len(want[i]) {
			t.Errorf("object %d has %d keys, want %d", i, len(got[i]), len(want[i]))
		}
	}

	// Layout, key order and escapes, on the raw bytes.
	s := string(raw)
	if !strings.HasPrefix(s, "[\n{\"id\":1,\"name\":\"Alice\",\"note\":") || !strings.HasSuffix(s, "}\n]\n") {
		t.Errorf("layout: %q ... %q", s[:40], s[len(s)-10:])
	}
	if n := strings.Count(s, "},\n{"); n != len(want)-1 {
		t.Errorf("%d object separators, want %d", n, len(want)-1)
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.Token() // [
	d.Token() // {
	for _, c := range fixtureSchema.Columns {
		tok, err := d.Token()
		if err != nil || tok != c.Name {
			t.Fatalf("key order: got %v (%v), want %q", tok, err, c.Name)
		}
		var skip json.RawMessage
		d.Decode(&skip)
	}
	for _, frag := range []string{
		`"amount":1.5000000000,`, `"amount":12345678901234567890.1234567890,`, `"ratio":null,`,
		`\u2028 \u2029`, `"\u0001ctrl\u001f\\"`, `bad\ufffdbyte`, `"ratio":1e+21,`, `"ratio":1e-7,`,
		`"attrs":{"a": 1, "b": [true, null], "c": "x\"y"}`, `"tags":["x","y,z"]`,
	} {
		if !strings.Contains(s, frag) {
			t.Errorf("output lacks %q", frag)
		}
	}
	if !utf8.Valid(raw) {
		t.Error("output is not valid UTF-8")
	}
}

func TestJSONEmptyResult(t *testing.T) {
	path := writeAll(t, "json", fixtureOptions(), nil)
	raw, _ := os.ReadFile(path)
	if string(raw) != "[]\n" {
		t.Fatalf("got %q, want %q", raw, "[]\n")
	}
}

func TestAppendJSONStringRoundTrip(t *testing.T) {
	inputs := []string{"", "plain", `"quoted" \ back`, "\x00\x01\x08\x0c\x1f\x7f", "tab\tnl\ncr\r",
		"é北😀", "\u2028\u2029", "bad\xff\xfe", "trunc\xe2\x82", "<html>&amp;", strings.Repeat("x", 1000)}
	for _, in := range inputs {
		b := record.AppendJSONString(nil, in)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Errorf("%q -> %s: %v", in, b, err)
			continue
		}
		// Each invalid byte becomes U+FFFD, as a []rune conversion does.
		if want := string([]rune(in)); got != want {
			t.Errorf("%q -> %s -> %q, want %q", in, b, got, want)
		}
		if bytes.ContainsAny(b, "\u2028\u2029") {
			t.Errorf("%q: raw U+2028/U+2029 in %s", in, b)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\xff", "\u2028", "\x00", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := record.AppendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q -> %s: %v", s, b, err)
		}
		if utf8.ValidString(s) && got != s {
			t.Fatalf("%q -> %q", s, got)
		}
	})
}

func TestIsJSONText(t *testing.T) {
	for _, s := range []string{`{}`, `[]`, ` {"a" : [1, -2.5e+3, "x\u00e9\n", true, false, null, {}]} `, `"s"`, `0`, `-0.1`,
		`{`, `[1,]`, `{"a":1,}`, `01`, `1.`, `.5`, `+1`, `"\x"`, "\"\x01\"", `nul`, `[1 2]`, `{"a" 1}`, ``, ` `, `"unterminated`,
		`{"a":1}x`, `[[[[]]]]`, "\"bad\xff\"", `1e`, `-`, `"\ud800"`} {
		// Unlike json.Valid, invalid UTF-8 is rejected: it would make
		// the whole file invalid.
		want := json.Valid([]byte(s)) && utf8.ValidString(s)
		if got := isJSONText(s); got != want {
			t.Errorf("isJSONText(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzIsJSONText(f *testing.F) {
	for _, s := range []string{`{"a":[1,2]}`, `[`, `"x"`, `1e5`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isJSONText(s), json.Valid([]byte(s)) && utf8.ValidString(s); got != want {
			t.Fatalf("isJSONText(%q) = %v, json.Valid = %v", s, got, want)
		}
	})
}

func TestAppendJSONFloat(t *testing.T) {
	for _, f := range []float64{0, 0.1, -2.5, 1e20, 1e21, 1e-6, 1e-7, 123456789.123, math.MaxFloat64, math.SmallestNonzeroFloat64, -0.0} {
		b := appendJSONFloat(nil, f)
		var got float64
		if err := json.Unmarshal(b, &got); err != nil || got != f {
			t.Errorf("%v -> %s -> %v (%v)", f, b, got, err)
		}
		if want, _ := json.Marshal(f); string(b) != string(want) {
			t.Errorf("%v -> %s, encoding/json writes %s", f, b, want)
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if b := appendJSONFloat(nil, f); string(b) != "null" {
			t.Errorf("%v -> %s, want null", f, b)
		}
	}
}

func TestAppendJSONNumeric(t *testing.T) {
	for in, want := range map[string]string{
		"1.5000000000": "1.5000000000", "-0.01": "-0.01", "42": "42", "NaN": "null", "Infinity": "null",
		"-Infinity": "null", "+5": `"+5"`, ".5": `".5"`,
	} {
		if got := string(appendJSONNumeric(nil, in)); got != want {
			t.Errorf("%q -> %s, want %s", in, got, want)
		}
	}
}
