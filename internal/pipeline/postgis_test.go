package pipeline_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/testsvc"
)

// awkwardSQL fills a PostGIS table with the values exports get wrong.
const awkwardSQL = `
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE TABLE awkward (
  id int PRIMARY KEY,
  t text, n numeric(30,10), f float8, b boolean, d date,
  ts timestamptz, tsn timestamp, j jsonb, u uuid, arr int[], tarr text[],
  by bytea, m mood, geom geometry(Geometry, 4326)
);
INSERT INTO awkward VALUES
 (1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (2, '', 0, 0, false, '2025-04-11', '2025-04-11 10:00:00.123456-04', '2025-04-11 10:00:00.5', '{}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{}', '{}', '', 'ok',
    'POLYGON((0 0, 10 0, 10 10, 0 10, 0 0), (2 2, 2 4, 4 4, 4 2, 2 2))'),
 (3, 'quote " comma , newline
 tab	end', 12345678901234567890.1234567890, 0.1, true, '1999-12-31', '2025-12-31 23:59:59.999999+05:30', '2000-01-01 00:00:00', '{"a": [1, 2.50, null], "b": "x\"y"}', NULL, '{1,NULL,3}', '{"a b","c,d",NULL}', '\x00ff10', 'sad',
    'POLYGON((0 0, 0 10, 10 10, 10 0, 0 0))'),
 (4, 'Ünïcödé ✓ 测试 🚀', -0.0000000001, 'NaN', true, '0001-01-01', '1970-01-01 00:00:00+00', NULL, '[1, "two"]', NULL, NULL, NULL, NULL, NULL,
    'MULTIPOLYGON(((0 0, 1 0, 1 1, 0 1, 0 0)), ((5 5, 5 6, 6 6, 6 5, 5 5)))'),
 (5, ' leading and trailing ', 1.5, 'Infinity', false, '2024-02-29', '2024-02-29 12:00:00-08', '2024-02-29 12:00:00.000001', 'null', NULL, NULL, NULL, NULL, NULL,
    'POLYGON EMPTY'),
 (6, '\.', 100, 1e21, NULL, NULL, NULL, NULL, '"str"', NULL, NULL, NULL, NULL, NULL,
    'POLYGON((0 0, 10 10, 10 0, 0 10, 0 0))'),
 (7, 'line1' || chr(13) || chr(10) || 'line2', 2.25, -1.5e-7, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    ST_GeomFromText('POINT(-77.0365298 38.8976763)', 4326));
`

// expectedSQL renders each column the way docs/ARCHITECTURE.md (Values per format) says the CSV must,
// computed by PostgreSQL itself: the independent oracle.
const expectedSQL = `SELECT id, t, n::text, f::text,
  CASE WHEN b THEN 'true' WHEN NOT b THEN 'false' END,
  to_char(d, 'YYYY-MM-DD'),
  to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
  to_char(tsn, 'YYYY-MM-DD"T"HH24:MI:SS.US'),
  j::text, u::text, to_json(arr)::text, to_json(tarr)::text, encode(by, 'base64'), m::text,
  ST_AsText(geom)
FROM awkward ORDER BY id`

func psqlCSV(t *testing.T, url, query string) [][]string {
	t.Helper()
	if _, err := exec.LookPath("psql"); err != nil {
		t.Fatal("psql is needed as the reference CSV writer: install postgresql-client")
	}
	cmd := exec.Command("psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
		`\copy (`+strings.ReplaceAll(query, "\n", " ")+`) TO STDOUT WITH (FORMAT csv, HEADER)`)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("psql: %v: %s", err, stderr.String())
	}
	r := csv.NewReader(&out)
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// sameTime compares our temporal text with PostgreSQL's fixed-µs text.
func sameTime(ours, theirs string) bool {
	if ours == theirs {
		return true
	}
	layouts := []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999"}
	for _, l := range layouts {
		a, e1 := time.Parse(l, ours)
		b, e2 := time.Parse(l, theirs)
		if e1 == nil && e2 == nil {
			return a.Equal(b)
		}
	}
	return false
}

func TestPostGISAwkwardValues(t *testing.T) {
	url := testsvc.PG(t)
	testsvc.PGExec(t, url, awkwardSQL)
	dir := t.TempDir()
	env := newEnv(t, dir, `source: {url: "`+url+`"}
datasets:
  - name: awkward
    query: SELECT * FROM awkward ORDER BY id
    key_columns: [id]
    geometry: {column: geom}
`)
	rep := mustRun(t, env, pipeline.Options{})
	ds := rep.Datasets[0]
	if ds.Records != 7 {
		t.Fatalf("records = %d", ds.Records)
	}
	want := psqlCSV(t, url, expectedSQL)
	got := readCSV(t, artifact(t, rep, "awkward", "csv").Path)
	if len(got) != len(want) {
		t.Fatalf("CSV has %d lines, psql %d", len(got), len(want))
	}
	header := []string{"id", "t", "n", "f", "b", "d", "ts", "tsn", "j", "u", "arr", "tarr", "by", "m", "geom"}
	if strings.Join(got[0], ",") != strings.Join(header, ",") {
		t.Errorf("header %v", got[0])
	}
	for i := 1; i < len(want); i++ {
		for c := range header {
			g, w := got[i][c], want[i][c]
			if header[c] == "ts" || header[c] == "tsn" {
				if !sameTime(g, w) {
					t.Errorf("row %s column %s: got %q, psql %q", want[i][0], header[c], g, w)
				}
				continue
			}
			if g != w {
				t.Errorf("row %s column %s: got %q, psql %q", want[i][0], header[c], g, w)
			}
		}
	}
	checkAwkwardJSON(t, artifact(t, rep, "awkward", "json").Path, want)
	checkAwkwardGeoJSON(t, artifact(t, rep, "awkward", "geojson").Path)
	checkAwkwardSQLite(t, artifact(t, rep, "awkward", "sqlite").Path, want)
	checkOGR(t, artifact(t, rep, "awkward", "geojson").Path, 7)
	checkOGR(t, artifact(t, rep, "awkward", "sqlite").Path, 7)
}

func checkAwkwardJSON(t *testing.T, path string, want [][]string) {
	t.Helper()
	var rows []map[string]any
	readJSON(t, path, &rows)
	if len(rows) != len(want)-1 {
		t.Fatalf("JSON has %d rows", len(rows))
	}
	// Row 1 is all NULL: every value null.
	for k, v := range rows[0] {
		if k != "id" && v != nil {
			t.Errorf("row 1 %s = %v, want null", k, v)
		}
	}
	r3 := rows[2]
	if n, ok := r3["n"].(json.Number); !ok || n.String() != want[3][2] {
		t.Errorf("numeric = %#v, want the exact number %s", r3["n"], want[3][2])
	}
	if j, ok := r3["j"].(map[string]any); !ok || j["b"] != `x"y` {
		t.Errorf("jsonb not nested: %#v", r3["j"])
	}
	if arr, ok := r3["arr"].([]any); !ok || len(arr) != 3 || arr[1] != nil {
		t.Errorf("array = %#v", r3["arr"])
	}
	if r3["b"] != true || r3["t"] != want[3][1] || r3["by"] != want[3][12] {
		t.Errorf("row 3 = %#v", r3)
	}
	if rows[1]["t"] != "" {
		t.Errorf("empty string became %#v", rows[1]["t"])
	}
	if rows[3]["f"] != nil || rows[4]["f"] != nil {
		t.Errorf("NaN/Infinity floats must be null in JSON: %#v %#v", rows[3]["f"], rows[4]["f"])
	}
	if g, _ := rows[6]["geom"].(string); g != want[7][14] {
		t.Errorf("geometry WKT in JSON = %q, want %q", g, want[7][14])
	}
}

func checkAwkwardGeoJSON(t *testing.T, path string) {
	t.Helper()
	var fc featureCollection
	readJSON(t, path, &fc)
	if len(fc.Features) != 7 || fc.CRS != nil {
		t.Fatalf("features %d crs %v", len(fc.Features), fc.CRS)
	}
	for _, f := range fc.Features {
		if f.Type != "Feature" {
			t.Errorf("feature type %q", f.Type)
		}
		var g geometryObj
		if string(f.Geometry) == "null" {
			if id := f.ID.String(); id != "1" && id != "5" {
				t.Errorf("feature %s has null geometry", id)
			}
			continue
		}
		json.Unmarshal(f.Geometry, &g)
		var polys [][][][]float64
		switch g.Type {
		case "Polygon":
			var rings [][][]float64
			json.Unmarshal(g.Coordinates, &rings)
			polys = append(polys, rings)
		case "MultiPolygon":
			json.Unmarshal(g.Coordinates, &polys)
		case "Point":
			var p []float64
			json.Unmarshal(g.Coordinates, &p)
			if len(p) != 2 || p[0] != -77.0365298 || p[1] != 38.8976763 {
				t.Errorf("point = %v", p)
			}
		}
		for _, rings := range polys {
			for i, ring := range rings {
				a := area(ring)
				if f.ID.String() == "6" { // bow-tie: zero area, any order
					continue
				}
				if (i == 0 && a <= 0) || (i > 0 && a >= 0) {
					t.Errorf("feature %s ring %d signed area %g breaks RFC 7946 winding", f.ID, i, a)
				}
				if ring[0][0] != ring[len(ring)-1][0] || ring[0][1] != ring[len(ring)-1][1] {
					t.Errorf("feature %s ring %d not closed", f.ID, i)
				}
			}
		}
	}
}

func checkAwkwardSQLite(t *testing.T, path string, want [][]string) {
	t.Helper()
	db := openSQLite(t, path)
	var n int
	db.QueryRow(`SELECT count(*) FROM awkward_data`).Scan(&n)
	if n != 7 {
		t.Fatalf("sqlite rows = %d", n)
	}
	var pk string
	db.QueryRow(`SELECT name FROM pragma_table_info('awkward_data') WHERE pk = 1`).Scan(&pk)
	if pk != "id" {
		t.Errorf("primary key = %q", pk)
	}
	var tNull, tEmpty, byType, nText string
	db.QueryRow(`SELECT typeof(t) FROM awkward_data WHERE id = 1`).Scan(&tNull)
	db.QueryRow(`SELECT typeof(t) FROM awkward_data WHERE id = 2`).Scan(&tEmpty)
	db.QueryRow(`SELECT typeof("by") FROM awkward_data WHERE id = 3`).Scan(&byType)
	db.QueryRow(`SELECT CAST(n AS TEXT) FROM awkward_data WHERE id = 3`).Scan(&nText)
	if tNull != "null" || tEmpty != "text" || byType != "blob" {
		t.Errorf("typeof: NULL→%s, ''→%s, bytea→%s", tNull, tEmpty, byType)
	}
	if nText != want[3][2] {
		t.Errorf("numeric(30,10) in SQLite = %s, want exact %s", nText, want[3][2])
	}
}

// checkOGR opens a file with GDAL's ogrinfo, an independent reader, and
// checks the feature count.
func checkOGR(t *testing.T, path string, features int) {
	t.Helper()
	if _, err := exec.LookPath("ogrinfo"); err != nil {
		t.Fatal("ogrinfo is needed to check GeoJSON and SQLite files: install gdal-bin (make test does)")
	}
	out, err := exec.Command("ogrinfo", "-ro", "-al", "-so", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ogrinfo %s: %v\n%s", path, err, out)
	}
	if !strings.Contains(string(out), "Feature Count: "+itoa(features)) {
		t.Errorf("ogrinfo %s:\n%s\nwant Feature Count: %d", path, out, features)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
