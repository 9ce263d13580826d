package pipeline_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/source/sqlite"
	"github.com/countydatasync/countysync/internal/testsvc"
)

// checkUndecoded checks that the text formats of rep hold want[id] in
// the geometry column of each row (read back by encoding/csv,
// encoding/json and database/sql), that the GeoJSON has a null geometry
// wherever want holds a value the product cannot decode (undecodable),
// and that the report names every such row.
func checkUndecoded(t *testing.T, rep *pipeline.Report, dataset string, want map[string]string, undecodable []string) {
	t.Helper()
	ds := rep.Datasets[0]
	if ds.WarningCount != int64(len(undecodable)) {
		t.Errorf("%d warnings, want %d: %v", ds.WarningCount, len(undecodable), ds.Warnings)
	}
	for _, id := range undecodable {
		found := false
		for _, w := range ds.Warnings {
			found = found || strings.Contains(w, "id="+id+":")
		}
		if !found {
			t.Errorf("no warning names id=%s: %v", id, ds.Warnings)
		}
	}
	recs := readCSV(t, artifact(t, rep, dataset, "csv").Path)
	if len(recs) != len(want)+1 {
		t.Fatalf("csv has %d lines, want %d", len(recs), len(want)+1)
	}
	for _, r := range recs[1:] {
		if r[1] != want[r[0]] {
			t.Errorf("csv id=%s geom = %q, want %q", r[0], r[1], want[r[0]])
		}
	}
	var rows []map[string]any
	readJSON(t, artifact(t, rep, dataset, "json").Path, &rows)
	for _, r := range rows {
		id := string(r["id"].(json.Number))
		if g, _ := r["geom"].(string); g != want[id] {
			t.Errorf("json id=%s geom = %v, want %q", id, r["geom"], want[id])
		}
	}
	db := openSQLite(t, artifact(t, rep, dataset, "sqlite").Path)
	q, err := db.Query(`SELECT id, geom FROM ` + dataset + `_data`)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for q.Next() {
		var id string
		var g sql.NullString
		if err := q.Scan(&id, &g); err != nil {
			t.Fatal(err)
		}
		if g.String != want[id] {
			t.Errorf("sqlite id=%s geom = %q, want %q", id, g.String, want[id])
		}
	}
	var fc struct {
		Features []struct {
			ID       json.Number     `json:"id"`
			Geometry json.RawMessage `json:"geometry"`
		} `json:"features"`
	}
	readJSON(t, artifact(t, rep, dataset, "geojson").Path, &fc)
	for _, f := range fc.Features {
		bad := want[f.ID.String()] == "" // NULL in the source
		for _, id := range undecodable {
			bad = bad || id == f.ID.String()
		}
		if null := string(f.Geometry) == "null"; null != bad {
			t.Errorf("geojson id=%s geometry %s", f.ID, f.Geometry)
		}
	}
}

// A geometry the product cannot decode keeps its source value in the
// formats that carry geometry as text (red-team D9): PostGIS curved types,
// TIN, TRIANGLE and POLYHEDRALSURFACE keep their EWKB as PostgreSQL
// prints it (geom::text, asked of PostgreSQL here); GeoJSON writes null.
func TestUndecodableGeometryKeepsItsSourceValuePostGIS(t *testing.T) {
	url := testsvc.PG(t)
	testsvc.PGExec(t, url, `CREATE TABLE curved (id int PRIMARY KEY, geom geometry);
INSERT INTO curved VALUES
 (1, 'SRID=4326;POINT(1 2)'),
 (2, 'SRID=4326;CIRCULARSTRING(0 0, 1 1, 2 0)'),
 (3, 'SRID=4326;COMPOUNDCURVE(CIRCULARSTRING(0 0, 1 1, 2 0), (2 0, 3 0))'),
 (4, 'SRID=4326;CURVEPOLYGON(CIRCULARSTRING(0 0, 4 0, 4 4, 0 4, 0 0))'),
 (5, 'SRID=4326;MULTISURFACE(CURVEPOLYGON(CIRCULARSTRING(0 0, 4 0, 4 4, 0 4, 0 0)))'),
 (6, 'SRID=4326;TIN(((0 0 0, 0 1 0, 1 1 0, 0 0 0)))'),
 (7, 'SRID=4326;TRIANGLE((0 0, 0 1, 1 1, 0 0))'),
 (8, 'SRID=4326;POLYHEDRALSURFACE(((0 0 0, 0 1 0, 1 1 0, 0 0 0)))'),
 (9, NULL);`)
	want := map[string]string{}
	for _, r := range psqlCSV(t, url, `SELECT id, CASE WHEN id = 1 THEN ST_AsText(geom) ELSE geom::text END FROM curved ORDER BY id`)[1:] {
		want[r[0]] = r[1]
	}
	env := newEnv(t, t.TempDir(), `source: {url: "`+url+`"}
formats: [sqlite, csv, json, geojson]
datasets:
  - name: curved
    query: SELECT id, geom FROM curved ORDER BY id
    key_columns: [id]
    geometry: {column: geom}
`)
	rep := mustRun(t, env, pipeline.Options{})
	checkUndecoded(t, rep, "curved", want, []string{"2", "3", "4", "5", "6", "7", "8"})
}

// The same for a SQLite source: a WKT string that does not parse is
// written as the source's text, byte for byte.
func TestUndecodableGeometryKeepsItsSourceValueSQLite(t *testing.T) {
	dir := t.TempDir()
	want := map[string]string{
		"1": "POINT (1 2)",
		"2": "POINT(1 2",
		"3": "CIRCULARSTRING(0 0, 1 1, 2 0)",
		"4": `not "wkt", at all`,
		"5": "",
	}
	if err := sqlite.CreateDatabase(context.Background(), filepath.Join(dir, "src.sqlite"), `
CREATE TABLE shapes (id INTEGER PRIMARY KEY, geom TEXT);
INSERT INTO shapes VALUES (1, 'POINT (1 2)'), (2, 'POINT(1 2'), (3, 'CIRCULARSTRING(0 0, 1 1, 2 0)'),
  (4, 'not "wkt", at all'), (5, NULL);`); err != nil {
		t.Fatal(err)
	}
	env := newEnv(t, dir, `source: {url: "sqlite://src.sqlite"}
formats: [sqlite, csv, json, geojson]
datasets:
  - name: shapes
    query: SELECT id, geom FROM shapes
    key_columns: [id]
    geometry: {column: geom, srid: 4326}
`)
	rep := mustRun(t, env, pipeline.Options{})
	want["1"] = "POINT(1 2)" // decoded, written as PostGIS writes WKT
	checkUndecoded(t, rep, "shapes", want, []string{"2", "3", "4"})
}
