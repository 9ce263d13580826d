package format

import (
	"encoding/csv"
	"os"
	"strings"
	"testing"
)

// wantCSV is the fixture as PostgreSQL's COPY ... (FORMAT csv, HEADER)
// writes it, typed by hand from the rules (quote only on , " \r \n, empty
// or \.; NULL is an empty unquoted field).
var wantCSV = `id,name,note,amount,price,ratio,flag,day,ts,local,uid,attrs,tags,raw,geom,"we""ird, col",select` + "\n" +
	"1,Alice,\"He said \"\"hi\"\", then left\nnext line\ttab\r!\",12345678901234567890.1234567890,1234.50,0.1,true,2025-04-11,2025-04-11T12:30:42.123456Z,2025-04-11T14:30:42.5,0b6f8a8e-3c1d-4f5e-9a7b-2c3d4e5f6a7b," +
	`"{""a"": 1, ""b"": [true, null], ""c"": ""x\""y""}","[""x"",""y,z""]",AAEC/w==,"POLYGON((-122.5 37.5,-122.5 37.6,-122.123456789 37.6,-122.4 37.5,-122.5 37.5),(-122.45 37.52,-122.42 37.52,-122.42 37.55,-122.45 37.52))","a ""quoted"" value",from` + "\n" +
	`2,"",,1.5000000000,-0.01,NaN,false,2025-04-12,2025-01-02T03:04:05Z,2025-01-02T03:04:05,,,[],"","MULTIPOLYGON(((0 0,1 0,1 1,0 1,0 0)),((2 2,2 3,3 3,3 2,2 2)))","\.",","` + "\n" +
	"3,Zoë 北京 😀 \u2028 \u2029,\x01ctrl\x1f\\,NaN,,Infinity,,,,,,\"\"\"just a string\"\"\",,,POLYGON EMPTY,,\n" +
	"4,, leading and trailing ,-0.0000000001,100.00,-Infinity,,,,,,,,,POLYGON((garbage,,\n" +
	"5,,,,,,,,,,,,,,,,\n" +
	"6,bad\xffbyte,1e21 and 1e-7,42,0,1e+21,,,,,,,,,POINT(1.5 -2.25),,\n" +
	"7,,,,,1e-07,,,,,,,,,,,\n"

func TestCSV(t *testing.T) {
	path := writeAll(t, "csv", fixtureOptions(), fixtureRows())
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := string(raw)
	if got != wantCSV {
		gl, wl := strings.SplitAfter(got, "\n"), strings.SplitAfter(wantCSV, "\n")
		for i := 0; i < len(gl) && i < len(wl); i++ {
			if gl[i] != wl[i] {
				t.Errorf("first difference at line %d:\n got %q\nwant %q", i+1, gl[i], wl[i])
				break
			}
		}
		t.Fatalf("CSV differs (got %d bytes, want %d)", len(got), len(wantCSV))
	}

	// An independent reader sees the same fields.
	r := csv.NewReader(strings.NewReader(got))
	r.LazyQuotes = false
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("encoding/csv: %v", err)
	}
	if len(recs) != 8 {
		t.Fatalf("got %d records, want 8", len(recs))
	}
	checks := []struct {
		row, col int
		want     string
	}{
		{0, 15, `we"ird, col`},
		{1, 2, "He said \"hi\", then left\nnext line\ttab\r!"},
		{1, 3, "12345678901234567890.1234567890"},
		{1, 11, `{"a": 1, "b": [true, null], "c": "x\"y"}`},
		{1, 12, `["x","y,z"]`},
		{2, 1, ""},
		{2, 15, `\.`},
		{2, 16, ","},
		{3, 1, "Zoë 北京 😀 \u2028 \u2029"},
		{3, 11, `"just a string"`},
		{4, 2, " leading and trailing "},
	}
	for _, c := range checks {
		if got := recs[c.row][c.col]; got != c.want {
			t.Errorf("record %d field %d = %q, want %q", c.row, c.col, got, c.want)
		}
	}
	// NULL vs empty string, looking at the raw bytes.
	lines := strings.Split(got, "\n")
	if !strings.HasPrefix(lines[3], `2,"",,`) {
		t.Errorf("empty string must be \"\" and NULL an empty field: %q", lines[3])
	}
}

func TestQuoteCSVField(t *testing.T) {
	for in, want := range map[string]string{
		"":          `""`,
		"plain":     "plain",
		"a,b":       `"a,b"`,
		`"`:         `""""`,
		`a"b"c`:     `"a""b""c"`,
		"a\nb":      "\"a\nb\"",
		"a\rb":      "\"a\rb\"",
		`\.`:        `"\."`,
		`\.x`:       `\.x`,
		" sp ":      " sp ",
		"tab\there": "tab\there",
	} {
		b := append([]byte("prefix,"), in...)
		b = quoteCSVField(b, len("prefix,"))
		if got := string(b); got != "prefix,"+want {
			t.Errorf("quote(%q) = %q, want %q", in, got, "prefix,"+want)
		}
	}
}

func TestCSVEmptyResult(t *testing.T) {
	path := writeAll(t, "csv", fixtureOptions(), nil)
	raw, _ := os.ReadFile(path)
	want := `id,name,note,amount,price,ratio,flag,day,ts,local,uid,attrs,tags,raw,geom,"we""ird, col",select` + "\n"
	if string(raw) != want {
		t.Fatalf("got %q, want %q", raw, want)
	}
}
