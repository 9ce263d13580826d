package format

import (
	"database/sql"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twpayne/go-geom"

	"github.com/countydatasync/countysync/internal/record"
	"github.com/countydatasync/countysync/internal/sqltext"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenInput is a small fixed dataset: a clockwise polygon with a hole, a
// NULL-heavy row and a row with text that needs quoting.
func goldenInput() (Options, []record.Row) {
	schema := &record.Schema{Columns: []record.Column{
		{Name: "id", Kind: record.Int}, {Name: "name", Kind: record.Text},
		{Name: "value", Kind: record.Numeric, SourceType: "numeric(12,2)"}, {Name: "area", Kind: record.Float},
		{Name: "active", Kind: record.Bool}, {Name: "updated", Kind: record.TimestampTZ},
		{Name: "geom", Kind: record.Geometry},
	}}
	sq := poly(
		[]geom.Coord{{-93.1, 44.9}, {-93.1, 44.95}, {-93.05, 44.95}, {-93.05, 44.9}, {-93.1, 44.9}},
		[]geom.Coord{{-93.09, 44.91}, {-93.06, 44.91}, {-93.06, 44.94}, {-93.09, 44.91}},
	)
	ts := time.Date(2025, 4, 11, 14, 30, 42, 120000000, time.UTC)
	return Options{Dataset: "golden", Schema: schema, KeyColumns: []string{"id"}, GeometryColumn: "geom"},
		[]record.Row{
			{record.IntValue(1), record.TextValue(`Lot "A", North`), record.NumericValue("250000.00"), record.FloatValue(1234.5),
				record.BoolValue(true), record.TimestampTZValue(ts), geomValue(sq)},
			{record.IntValue(2), record.TextValue(""), {}, {}, {}, {}, {}},
		}
}

// sqliteDump renders a SQLite file as text for its golden file.
func sqliteDump(t *testing.T, path string) []byte {
	db := openDB(t, path)
	var b strings.Builder
	var ddl string
	if err := db.QueryRow(`SELECT sql FROM sqlite_master WHERE type = 'table'`).Scan(&ddl); err != nil {
		t.Fatal(err)
	}
	b.WriteString(ddl + ";\n")
	rows, err := db.Query(`SELECT quote(id), quote(name), typeof(value)||':'||quote(value), quote(area), quote(active), quote(updated), quote(geom) FROM golden_data ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		v := make([]sql.NullString, 7)
		rows.Scan(&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6])
		var parts []string
		for _, s := range v {
			parts = append(parts, s.String)
		}
		b.WriteString(strings.Join(parts, "|") + "\n")
	}
	return []byte(b.String())
}

// gpkgDump renders a GeoPackage file as text for its golden file: the
// PRAGMAs that identify it, every schema object, every row of every table
// (quote() of each value, blobs in hex) except the time of last_change.
func gpkgDump(t *testing.T, path string) []byte {
	db := openDB(t, path)
	var b strings.Builder
	for _, p := range []string{"application_id", "user_version"} {
		var v int64
		if err := db.QueryRow("PRAGMA " + p).Scan(&v); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "PRAGMA %s = %d;\n", p, v)
	}
	var tables []string
	rows, err := db.Query(`SELECT type, name, sql FROM sqlite_master ORDER BY rowid`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var typ, name string
		var ddl sql.NullString
		if err := rows.Scan(&typ, &name, &ddl); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s: %s;\n", typ, name, ddl.String)
		if typ == "table" {
			tables = append(tables, name)
		}
	}
	rows.Close()
	for _, table := range tables {
		cols := tableColumns(t, db, table)
		sel := make([]string, len(cols))
		for i, c := range cols {
			sel[i] = "quote(" + sqltext.QuoteIdent(c) + ")"
			if table == "gpkg_contents" && c == "last_change" {
				sel[i] = "'<time>'"
			}
		}
		res, err := db.Query("SELECT " + strings.Join(sel, ", ") + " FROM " + sqltext.QuoteIdent(table) + " ORDER BY rowid")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "-- %s (%s)\n", table, strings.Join(cols, ", "))
		for res.Next() {
			vals := make([]string, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := res.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			b.WriteString(strings.Join(vals, "|") + "\n")
		}
		res.Close()
	}
	return []byte(b.String())
}

// tableColumns lists the columns of a table in order.
func tableColumns(t *testing.T, db *sql.DB, table string) []string {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	return cols
}

func TestGolden(t *testing.T) {
	opts, rows := goldenInput()
	for _, format := range Names() {
		t.Run(format, func(t *testing.T) {
			path := writeAll(t, format, opts, rows)
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			name := filepath.Join("testdata", "golden."+format)
			switch format {
			case "sqlite":
				got = sqliteDump(t, path)
				name += ".txt"
			case "gpkg":
				got = gpkgDump(t, path)
				name += ".txt"
			}
			if *update {
				if err := os.WriteFile(name, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(name)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("%s differs from %s:\n got %q\nwant %q", format, name, got, want)
			}
		})
	}
}

// TestOGRInfo checks that GDAL reads the GeoJSON and SQLite outputs
// (TestGPKGWithGDAL checks the GeoPackage).
func TestOGRInfo(t *testing.T) {
	ogrinfo := needTool(t, "ogrinfo", "Debian package gdal-bin")
	rows := fixtureRows()
	for _, format := range []string{"geojson", "sqlite"} {
		path := writeAll(t, format, fixtureOptions(), rows)
		out, err := exec.Command(ogrinfo, "-ro", "-al", "-so", path).CombinedOutput()
		if err != nil {
			t.Fatalf("ogrinfo %s: %v\n%s", format, err, out)
		}
		m := regexp.MustCompile(`Feature Count: (\d+)`).FindSubmatch(out)
		if m == nil || string(m[1]) != "7" {
			t.Errorf("ogrinfo %s: feature count %q, want 7\n%s", format, m, out)
		}
		if format == "geojson" && strings.Contains(string(out), "ERROR") {
			t.Errorf("ogrinfo reported errors:\n%s", out)
		}
	}
}
