package format

import (
	"bytes"
	"database/sql"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countydatasync/countysync/internal/record"
	"github.com/countydatasync/countysync/internal/sqltext"
)

// The "sqlite3" database/sql driver is registered by go-sqlite3, which
// this package imports for the writer; the tests read through
// database/sql, independently of the writer's driver-level code.

func openDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSQLite(t *testing.T) {
	path := writeAll(t, "sqlite", fixtureOptions(), fixtureRows())
	db := openDB(t, path)

	var n int
	if err := db.QueryRow(`SELECT count(*) FROM "parcels_data"`).Scan(&n); err != nil || n != 7 {
		t.Fatalf("count = %d, %v; want 7", n, err)
	}

	type colInfo struct {
		typ     string
		notnull int
		pk      int
	}
	wantCols := map[string]colInfo{
		"id": {"INTEGER", 1, 1}, "name": {"TEXT", 0, 0}, "note": {"TEXT", 0, 0},
		"amount": {"TEXT", 0, 0}, // numeric(30,10): more digits than REAL holds
		"price":  {"NUMERIC", 0, 0}, "ratio": {"REAL", 0, 0}, "flag": {"BOOLEAN", 0, 0},
		"day": {"DATE", 0, 0}, "ts": {"DATETIME", 0, 0}, "local": {"DATETIME", 0, 0},
		"uid": {"TEXT", 0, 0}, "attrs": {"TEXT", 0, 0}, "tags": {"TEXT", 0, 0},
		"raw": {"BLOB", 0, 0}, "geom": {"TEXT", 0, 0}, `we"ird, col`: {"TEXT", 0, 0}, "select": {"TEXT", 0, 0},
	}
	rows, err := db.Query(`PRAGMA table_info("parcels_data")`)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for rows.Next() {
		var cid, notnull, pk int
		var name, typ string
		var dflt sql.NullString
		if err := rows.Scan(&cid, &name, &typ, &notnull, &dflt, &pk); err != nil {
			t.Fatal(err)
		}
		order = append(order, name)
		if got, want := (colInfo{typ, notnull, pk}), wantCols[name]; got != want {
			t.Errorf("column %q: %+v, want %+v", name, got, want)
		}
	}
	rows.Close()
	if got, want := strings.Join(order, "|"), strings.Join(fixtureSchema.Names(), "|"); got != want {
		t.Errorf("columns %s, want %s", got, want)
	}
	// A single INTEGER key aliases the rowid.
	if err := db.QueryRow(`SELECT count(*) FROM "parcels_data" WHERE rowid = id`).Scan(&n); err != nil || n != 7 {
		t.Errorf("rowid alias: %d rows with rowid = id, %v", n, err)
	}

	// typeof() and quote() of every value, compared with hand-written
	// expectations.
	var sel []string
	for _, c := range fixtureSchema.Columns {
		q := sqltext.QuoteIdent(c.Name)
		sel = append(sel, "typeof("+q+") || ':' || quote("+q+")")
	}
	res, err := db.Query("SELECT " + strings.Join(sel, ", ") + ` FROM "parcels_data" ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	want := [][]string{
		{"integer:1", "text:'Alice'", "text:'He said \"hi\", then left\nnext line\ttab\r!'", "text:'12345678901234567890.1234567890'",
			"real:1234.5", "real:0.1", "integer:1", "text:'2025-04-11'", "text:'2025-04-11T12:30:42.123456Z'", "text:'2025-04-11T14:30:42.5'",
			"text:'0b6f8a8e-3c1d-4f5e-9a7b-2c3d4e5f6a7b'", `text:'{"a": 1, "b": [true, null], "c": "x\"y"}'`, `text:'["x","y,z"]'`,
			"blob:X'000102FF'", "text:'POLYGON((-122.5 37.5,-122.5 37.6,-122.123456789 37.6,-122.4 37.5,-122.5 37.5),(-122.45 37.52,-122.42 37.52,-122.42 37.55,-122.45 37.52))'",
			`text:'a "quoted" value'`, "text:'from'"},
		{"integer:2", "text:''", "null:NULL", "text:'1.5000000000'", "real:-0.01", "null:NULL", "integer:0", "text:'2025-04-12'",
			"text:'2025-01-02T03:04:05Z'", "text:'2025-01-02T03:04:05'", "null:NULL", "null:NULL", "text:'[]'", "blob:X''",
			"text:'MULTIPOLYGON(((0 0,1 0,1 1,0 1,0 0)),((2 2,2 3,3 3,3 2,2 2)))'", `text:'\.'`, "text:','"},
		{"integer:3", "text:'Zoë 北京 😀 \u2028 \u2029'", "text:'\x01ctrl\x1f\\'", "text:'NaN'", "null:NULL", "real:9.0e+999",
			"null:NULL", "null:NULL", "null:NULL", "null:NULL", "null:NULL", `text:'"just a string"'`, "null:NULL", "null:NULL",
			"text:'POLYGON EMPTY'", "null:NULL", "null:NULL"},
		{"integer:4", "null:NULL", "text:' leading and trailing '", "text:'-0.0000000001'", "integer:100", "real:-9.0e+999",
			"null:NULL", "null:NULL", "null:NULL", "null:NULL", "null:NULL", "null:NULL", "null:NULL", "null:NULL", "text:'POLYGON((garbage'", "null:NULL", "null:NULL"},
		{"integer:5", "null:NULL", "null:NULL", "null:NULL", "null:NULL", "null:NULL", "null:NULL", "null:NULL", "null:NULL",
			"null:NULL", "null:NULL", "null:NULL", "null:NULL", "null:NULL", "null:NULL", "null:NULL", "null:NULL"},
		{"integer:6", "text:'bad\xffbyte'", "text:'1e21 and 1e-7'", "text:'42'", "integer:0", "real:1.0e+21", "null:NULL", "null:NULL",
			"null:NULL", "null:NULL", "null:NULL", "null:NULL", "null:NULL", "null:NULL", "text:'POINT(1.5 -2.25)'", "null:NULL", "null:NULL"},
		{"integer:7", "null:NULL", "null:NULL", "null:NULL", "null:NULL", "real:1.0e-07", "null:NULL", "null:NULL",
			"null:NULL", "null:NULL", "null:NULL", "null:NULL", "null:NULL", "null:NULL", "null:NULL", "null:NULL", "null:NULL"},
	}
	r := 0
	for res.Next() {
		got := make([]string, len(fixtureSchema.Columns))
		ptrs := make([]any, len(got))
		for i := range got {
			ptrs[i] = &got[i]
		}
		if err := res.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if got[i] != want[r][i] {
				t.Errorf("row %d column %q: %q, want %q", r+1, fixtureSchema.Columns[i].Name, got[i], want[r][i])
			}
		}
		r++
	}
	if r != 7 {
		t.Errorf("%d rows read", r)
	}
	// Values come back exactly through database/sql too.
	var raw []byte
	var ratio float64
	if err := db.QueryRow(`SELECT raw, ratio FROM parcels_data WHERE id = 1`).Scan(&raw, &ratio); err != nil ||
		!bytes.Equal(raw, []byte{0, 1, 2, 255}) || ratio != 0.1 {
		t.Errorf("raw %v ratio %v err %v", raw, ratio, err)
	}
}

func TestNumericBind(t *testing.T) {
	for in, want := range map[string]any{
		"1.5000000000": 1.5, "-0.01": -0.01, "100.00": int64(100), "42": int64(42), "-0.0": int64(0),
		"9223372036854775807": int64(9223372036854775807), "9223372036854775808": "9223372036854775808",
		"12345678901234567890.1234567890": "12345678901234567890.1234567890", "0.1": 0.1, "NaN": "NaN",
		"Infinity": "Infinity", "123456789012.345": 123456789012.345, "0.30000000000000004": 0.30000000000000004,
		"0.1000000000000000055511151231257827": "0.1000000000000000055511151231257827",
	} {
		if got := numericBind(in); got != want {
			t.Errorf("numericBind(%q) = %#v, want %#v", in, got, want)
		}
	}
}

// A numeric column declared with at most 15 digits is NUMERIC: integers
// and round-tripping decimals are stored as numbers.
func TestSQLiteNumericAffinity(t *testing.T) {
	schema := &record.Schema{Columns: []record.Column{{Name: "v", Kind: record.Numeric, SourceType: "numeric(12,10)"}}}
	var rows []record.Row
	for _, s := range []string{"1.5000000000", "42", "-0.01", "NaN"} {
		rows = append(rows, record.Row{record.NumericValue(s)})
	}
	db := openDB(t, writeAll(t, "sqlite", Options{Dataset: "n", Schema: schema}, rows))
	var got []string
	res, err := db.Query(`SELECT typeof(v) || ':' || quote(v) FROM n_data ORDER BY rowid`)
	if err != nil {
		t.Fatal(err)
	}
	for res.Next() {
		var s string
		res.Scan(&s)
		got = append(got, s)
	}
	if want := "real:1.5|integer:42|real:-0.01|text:'NaN'"; strings.Join(got, "|") != want {
		t.Errorf("got %s, want %s", strings.Join(got, "|"), want)
	}
	var typ string
	db.QueryRow(`SELECT type FROM pragma_table_info('n_data')`).Scan(&typ)
	if typ != "NUMERIC" {
		t.Errorf("declared %s", typ)
	}
}

func TestSQLiteIdentifiersAndCompositeKey(t *testing.T) {
	schema := &record.Schema{Columns: []record.Column{
		{Name: `order "x"`, Kind: record.Text}, {Name: "年 度", Kind: record.Int}, {Name: "group", Kind: record.Float},
	}}
	opts := Options{Dataset: "odd", Schema: schema, KeyColumns: []string{`order "x"`, "年 度"}}
	path := filepath.Join(t.TempDir(), "dir with space#x", "out?.sqlite")
	mkdirAll(t, filepath.Dir(path))
	w, err := New("sqlite", path, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if err := w.WriteRow(record.Row{record.TextValue(fmt.Sprint("k", i%7)), record.IntValue(int64(i)), record.FloatValue(math.Pi)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", "file:"+strings.NewReplacer("?", "%3F", "#", "%23").Replace(path)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM "odd_data" WHERE "order ""x""" LIKE 'k%' AND "年 度" >= 0 AND "group" > 3`).Scan(&n); err != nil || n != 200 {
		t.Fatalf("count %d, %v", n, err)
	}
	var pks []string
	res, _ := db.Query(`SELECT name FROM pragma_table_info('odd_data') WHERE pk > 0 ORDER BY pk`)
	for res.Next() {
		var s string
		res.Scan(&s)
		pks = append(pks, s)
	}
	res.Close()
	if strings.Join(pks, "|") != `order "x"|年 度` {
		t.Errorf("primary key %q", pks)
	}
}

func TestSQLiteDuplicateKey(t *testing.T) {
	schema := &record.Schema{Columns: []record.Column{{Name: "id", Kind: record.Int}, {Name: "v", Kind: record.Text}}}
	opts := Options{Dataset: "dups", Schema: schema, KeyColumns: []string{"id"}}
	for _, dupAt := range []int{10, 70, 130} { // in a full batch, in the tail, in a later batch
		t.Run(fmt.Sprint(dupAt), func(t *testing.T) {
			w, err := New("sqlite", filepath.Join(t.TempDir(), "d.sqlite"), opts)
			if err != nil {
				t.Fatal(err)
			}
			var werr error
			for i := 0; i < 150 && werr == nil; i++ {
				id := int64(1000 + i)
				if i == dupAt {
					id = 1000 + 3
				}
				werr = w.WriteRow(record.Row{record.IntValue(id), record.TextValue("x")})
			}
			cerr := w.Close()
			err = werr
			if err == nil {
				err = cerr
			}
			if err == nil {
				t.Fatal("duplicate key not reported")
			}
			if msg := err.Error(); !strings.Contains(msg, "dataset dups") || !strings.Contains(msg, "duplicate key (id) = (1003)") {
				t.Errorf("error %q does not name dataset, key column and value", msg)
			}
		})
	}
	// A NULL key is an error too (an INTEGER key would silently get a rowid).
	w, _ := New("sqlite", filepath.Join(t.TempDir(), "n.sqlite"), opts)
	w.WriteRow(record.Row{record.Value{}, record.TextValue("x")})
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "dataset dups: NULL in key column id") {
		t.Errorf("NULL key: %v", err)
	}
}
