package format

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countydatasync/countysync/internal/record"
)

// Two column names either make a SQLite file with exactly those columns
// (read back by database/sql) or fail with an error that names both when
// SQLite would take them for one; never a panic (red-team H1: columns
// "ID" and "id" crashed the run with a nil-pointer panic).
func FuzzSQLiteColumnNames(f *testing.F) {
	for _, p := range [][2]string{{"ID", "id"}, {"id", "name"}, {"Straße", "STRASSE"}, {"ä", "Ä"}, {"a b", "A B"}, {"fid", "FID"}, {`"q"`, `"Q"`}} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if a == b || a == "" || b == "" || strings.IndexByte(a+b, 0) >= 0 {
			return
		}
		for _, name := range []string{"sqlite", "gpkg"} {
			schema := &record.Schema{Columns: []record.Column{{Name: a, Kind: record.Text}, {Name: b, Kind: record.Int}}}
			opts := Options{Dataset: "d", Schema: schema}
			if name == "gpkg" {
				schema.Columns = append(schema.Columns, record.Column{Name: "geom_" + a, Kind: record.Geometry})
				opts.GeometryColumn = "geom_" + a
			}
			dir, err := os.MkdirTemp("", "fuzzcols-*") // one per input
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(dir)
			path := filepath.Join(dir, "out."+name)
			w, err := New(name, path, opts)
			clash := foldASCII(a) == foldASCII(b)
			if clash {
				if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q and %q differ only in case", a, b)) {
					t.Fatalf("%s, columns %q and %q: %v, want an error naming both", name, a, b, err)
				}
				continue
			}
			if err != nil {
				if strings.Contains(err.Error(), "differ only in case") {
					t.Fatalf("%s, columns %q and %q: %v", name, a, b, err)
				}
				continue // another refusal (a gpkg name rule): an error, not a panic
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
			if err != nil {
				t.Fatal(err)
			}
			table := "d_data"
			if name == "gpkg" {
				table = "d"
			}
			rows, err := db.Query(`SELECT name FROM pragma_table_info('` + table + `')`)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for rows.Next() {
				var n string
				rows.Scan(&n)
				got = append(got, n)
			}
			rows.Close()
			db.Close()
			if !strings.Contains("\x00"+strings.Join(got, "\x00")+"\x00", "\x00"+a+"\x00"+b+"\x00") {
				t.Fatalf("%s columns %q, want %q then %q", name, got, a, b)
			}
		}
	})
}

// More columns than SQLite allows fail before the file is made, saying how
// many and why (red-team H1: 2,000 columns and gpkg's fid panicked).
func TestSQLiteColumnLimit(t *testing.T) {
	cols := make([]record.Column, 2000)
	for i := range cols {
		cols[i] = record.Column{Name: fmt.Sprintf("c%d", i), Kind: record.Int}
	}
	cols[1999] = record.Column{Name: "geom", Kind: record.Geometry}
	opts := Options{Dataset: "wide", Schema: &record.Schema{Columns: cols}, GeometryColumn: "geom"}
	path := filepath.Join(t.TempDir(), "wide.sqlite")
	w, err := New("sqlite", path, opts)
	if err != nil {
		t.Fatalf("2000 columns in sqlite: %v", err)
	}
	w.Close()
	_, err = New("gpkg", filepath.Join(t.TempDir(), "wide.gpkg"), opts)
	if err == nil || !strings.Contains(err.Error(), "2001 columns (2000 from the query, 1 added by gpkg)") {
		t.Fatalf("2000 columns in gpkg: %v", err)
	}
}

// foldASCII lower-cases ASCII letters only, as SQLite compares names.
func foldASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}
