package pipeline_test

import (
	"context"
	"encoding/json"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/source/sqlite"
	"github.com/countydatasync/countysync/internal/testsvc"
)

// geoJSONFeatures reads a GeoJSON file with encoding/json: id → geometry.
func geoJSONFeatures(t *testing.T, path string) map[string]json.RawMessage {
	t.Helper()
	var fc struct {
		Features []struct {
			ID       json.Number     `json:"id"`
			Geometry json.RawMessage `json:"geometry"`
		} `json:"features"`
	}
	readJSON(t, path, &fc)
	out := map[string]json.RawMessage{}
	for _, f := range fc.Features {
		out[f.ID.String()] = f.Geometry
	}
	return out
}

// flatCoords returns every number of a GeoJSON geometry's coordinates in
// order.
func flatCoords(t *testing.T, g json.RawMessage) []float64 {
	t.Helper()
	var obj struct {
		Coordinates any `json:"coordinates"`
	}
	if err := json.Unmarshal(g, &obj); err != nil {
		t.Fatalf("%s: %v", g, err)
	}
	var out []float64
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case float64:
			out = append(out, v)
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(obj.Coordinates)
	return out
}

func sameVertices(a, b []float64, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > tol {
			return false
		}
	}
	return true
}

// A PostGIS column mixing the county CRSs of issue 12 is published in
// GeoJSON (and GeoPackage, read back by ogr2ogr) as PostGIS's own
// ST_Transform(geom, 4326) gives it, to 1e-7 degrees, every vertex; the
// CSV keeps the source coordinates (ST_AsText).
func TestReprojectPostGISMatchesSTTransform(t *testing.T) {
	url := testsvc.PG(t)
	testsvc.PGExec(t, url, `CREATE TABLE county (id int PRIMARY KEY, geom geometry);
INSERT INTO county VALUES
 (1, 'SRID=2263;LINESTRING(988000 200000, 1067382 272844, 913175 120121)'),
 (2, 'SRID=2227;POINT(6000000 2100000)'),
 (3, 'SRID=26918;LINESTRING(583000 4507000, 600000 4400000)'),
 (4, 'SRID=32617;MULTIPOINT((500000 4000000), (700000 3900000))'),
 (5, 'SRID=4267;LINESTRING(-78 36, -84.3 35.1, -75.5 36.5)'),
 (6, 'SRID=3857;POINT(-8238000 4970000)'),
 (7, 'SRID=4326;POINT(-73.98 40.71)'),
 (8, 'SRID=4979;POINT Z (-73.98 40.71 12.5)'),
 (9, 'SRID=2263;POINT Z (988000 200000 33)');`)
	want := map[string]string{}
	for _, r := range psqlCSV(t, url, `SELECT id, ST_AsGeoJSON(ST_Transform(geom, 4326), 12) FROM county ORDER BY id`)[1:] {
		want[r[0]] = r[1]
	}
	wantWKT := map[string]string{}
	for _, r := range psqlCSV(t, url, `SELECT id, ST_AsText(geom) FROM county ORDER BY id`)[1:] {
		wantWKT[r[0]] = r[1]
	}
	dir := t.TempDir()
	env := newEnv(t, dir, `source: {url: "`+url+`"}
formats: [csv, geojson, gpkg]
datasets:
  - name: county
    query: SELECT id, geom FROM county ORDER BY id
    key_columns: [id]
    geometry: {column: geom, precision: 9}
`)
	rep := mustRun(t, env, pipeline.Options{})
	if rep.Datasets[0].WarningCount != 0 {
		t.Errorf("warnings: %v", rep.Datasets[0].Warnings)
	}
	got := geoJSONFeatures(t, artifact(t, rep, "county", "geojson").Path)
	for id, w := range want {
		g, ok := got[id]
		if !ok {
			t.Errorf("id=%s missing from the GeoJSON", id)
			continue
		}
		if gc, wc := flatCoords(t, g), flatCoords(t, json.RawMessage(w)); !sameVertices(gc, wc, 1e-7) {
			t.Errorf("id=%s: GeoJSON %s, ST_Transform %s", id, g, w)
		}
	}
	for _, r := range readCSV(t, artifact(t, rep, "county", "csv").Path)[1:] {
		if r[1] != wantWKT[r[0]] {
			t.Errorf("csv id=%s: %q, ST_AsText %q", r[0], r[1], wantWKT[r[0]])
		}
	}
	// The GeoPackage, as GDAL reads it.
	if _, err := exec.LookPath("ogr2ogr"); err != nil {
		t.Fatal("ogr2ogr is the GeoPackage oracle: install gdal-bin")
	}
	out := filepath.Join(t.TempDir(), "fromgpkg.geojson")
	cmd := exec.Command("ogr2ogr", "-f", "GeoJSON", "-lco", "COORDINATE_PRECISION=12", out, artifact(t, rep, "county", "gpkg").Path)
	if b, err := cmd.CombinedOutput(); err != nil || len(b) > 0 {
		t.Fatalf("ogr2ogr: %v: %s", err, b)
	}
	var fc struct {
		Features []struct {
			Properties struct {
				ID json.Number `json:"id"`
			} `json:"properties"`
			Geometry json.RawMessage `json:"geometry"`
		} `json:"features"`
	}
	readJSON(t, out, &fc)
	if len(fc.Features) != len(want) {
		t.Fatalf("GeoPackage has %d features, want %d", len(fc.Features), len(want))
	}
	for _, f := range fc.Features {
		id := f.Properties.ID.String()
		if gc, wc := flatCoords(t, f.Geometry), flatCoords(t, json.RawMessage(want[id])); !sameVertices(gc, wc, 1e-7) {
			t.Errorf("gpkg id=%s: %s, ST_Transform %s", id, f.Geometry, want[id])
		}
	}
}

// stateplaneSQLite writes a plain SQLite table of WKT in New York Long
// Island feet (EPSG:2263, no SRID anywhere).
func stateplaneSQLite(t *testing.T, dir string) {
	t.Helper()
	if err := sqlite.CreateDatabase(context.Background(), filepath.Join(dir, "src.sqlite"), `
CREATE TABLE lots (id INTEGER PRIMARY KEY, geom TEXT);
INSERT INTO lots VALUES (3, 'POINT(1067382 272844)'), (1, 'LINESTRING(988000 200000, 913175 120121)'), (2, 'POINT(988000 200000)');`); err != nil {
		t.Fatal(err)
	}
}

// Without geometry.srid, State Plane feet in a plain SQLite table are never
// published as WGS 84: the dataset fails naming the first row in key
// order, the same on every run, and says what to configure.
func TestSRIDZeroOutOfRangeFails(t *testing.T) {
	dir := t.TempDir()
	stateplaneSQLite(t, dir)
	var first string
	for run := range 2 {
		env := newEnv(t, dir, `source: {url: "sqlite://src.sqlite"}
formats: [csv, geojson]
datasets:
  - name: lots
    query: SELECT id, geom FROM lots ORDER BY id
    key_columns: [id]
    geometry: {column: geom}
`)
		rep, err := pipeline.Run(context.Background(), env, pipeline.Options{})
		if err == nil && rep.Success {
			t.Fatal("State Plane feet published as WGS 84 with success")
		}
		msg := rep.Error + rep.Datasets[0].Error
		for _, part := range []string{"dataset lots", "column geom", "id=1:", "(988000 200000)", "geometry: {srid:"} {
			if !strings.Contains(msg, part) {
				t.Errorf("error %q does not contain %q", msg, part)
			}
		}
		if run == 0 {
			first = msg
		} else if msg != first {
			t.Errorf("error changed between runs:\n%s\n%s", first, msg)
		}
		if len(rep.Datasets[0].Artifacts) != 0 {
			t.Errorf("artifacts published: %+v", rep.Datasets[0].Artifacts)
		}
	}
}

// With geometry.srid the same table is reprojected with PROJ: GeoJSON as
// cs2cs gives the points, the CSV keeps the source's feet.
func TestSRIDConfiguredReprojectsSQLite(t *testing.T) {
	if _, err := exec.LookPath("cs2cs"); err != nil {
		t.Fatal("cs2cs is the oracle: install proj-bin (scripts/services.sh does)")
	}
	dir := t.TempDir()
	stateplaneSQLite(t, dir)
	env := newEnv(t, dir, `source: {url: "sqlite://src.sqlite"}
formats: [csv, geojson]
datasets:
  - name: lots
    query: SELECT id, geom FROM lots ORDER BY id
    key_columns: [id]
    geometry: {column: geom, srid: 2263, precision: 9}
`)
	rep := mustRun(t, env, pipeline.Options{})
	if rep.Datasets[0].WarningCount != 0 {
		t.Errorf("warnings: %v", rep.Datasets[0].Warnings)
	}
	cmd := exec.Command("cs2cs", "-d", "12", "EPSG:2263", "EPSG:4326")
	cmd.Stdin = strings.NewReader("988000 200000\n913175 120121\n1067382 272844\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var ll [][2]float64 // lon, lat (cs2cs writes EPSG:4326 as lat, lon)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var lat, lon float64
		f := strings.Fields(line)
		if err := json.Unmarshal([]byte(f[0]), &lat); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(f[1]), &lon); err != nil {
			t.Fatal(err)
		}
		ll = append(ll, [2]float64{lon, lat})
	}
	want := map[string][]float64{
		"1": {ll[0][0], ll[0][1], ll[1][0], ll[1][1]},
		"2": {ll[0][0], ll[0][1]},
		"3": {ll[2][0], ll[2][1]},
	}
	got := geoJSONFeatures(t, artifact(t, rep, "lots", "geojson").Path)
	for id, w := range want {
		if gc := flatCoords(t, got[id]); !sameVertices(gc, w, 1e-7) {
			t.Errorf("id=%s: GeoJSON %s, cs2cs %v", id, got[id], w)
		}
	}
	for _, r := range readCSV(t, artifact(t, rep, "lots", "csv").Path)[1:] {
		if r[0] == "2" && r[1] != "POINT(988000 200000)" {
			t.Errorf("csv id=2 geom %q, want the source's feet", r[1])
		}
	}
}

// SRID 0 within ±180/±90 is taken as lon/lat, with one warning saying so.
func TestSRIDZeroInRangeWarnsOnce(t *testing.T) {
	dir := t.TempDir()
	if err := sqlite.CreateDatabase(context.Background(), filepath.Join(dir, "src.sqlite"), `
CREATE TABLE pts (id INTEGER PRIMARY KEY, geom TEXT);
INSERT INTO pts VALUES (1, 'POINT(-73.98 40.71)'), (2, 'POINT(-78 36)');`); err != nil {
		t.Fatal(err)
	}
	env := newEnv(t, dir, `source: {url: "sqlite://src.sqlite"}
formats: [geojson]
datasets:
  - name: pts
    query: SELECT id, geom FROM pts ORDER BY id
    key_columns: [id]
    geometry: {column: geom}
`)
	rep := mustRun(t, env, pipeline.Options{})
	ws := rep.Datasets[0].Warnings
	if len(ws) != 1 || !strings.Contains(ws[0], "taken as WGS 84 lon/lat") {
		t.Errorf("warnings %v, want one saying SRID 0 was taken as lon/lat", ws)
	}
	got := geoJSONFeatures(t, artifact(t, rep, "pts", "geojson").Path)
	if gc := flatCoords(t, got["2"]); !sameVertices(gc, []float64{-78, 36}, 0) {
		t.Errorf("id=2: %s", got["2"])
	}
}

// An SRID PROJ does not know fails the dataset naming dataset, column and
// SRID; a geometry.srid PROJ does not know fails at validation.
func TestUnknownSRID(t *testing.T) {
	dir := t.TempDir()
	if err := sqlite.CreateDatabase(context.Background(), filepath.Join(dir, "src.sqlite"), `
CREATE TABLE pts (id INTEGER PRIMARY KEY, geom TEXT);
INSERT INTO pts VALUES (1, 'SRID=999999;POINT(1 2)');`); err != nil {
		t.Fatal(err)
	}
	env := newEnv(t, dir, `source: {url: "sqlite://src.sqlite"}
formats: [geojson]
datasets:
  - name: pts
    query: SELECT id, geom FROM pts ORDER BY id
    key_columns: [id]
    geometry: {column: geom}
`)
	rep, err := pipeline.Run(context.Background(), env, pipeline.Options{})
	if err == nil && rep.Success {
		t.Fatal("unknown SRID published with success")
	}
	msg := rep.Error + rep.Datasets[0].Error
	for _, part := range []string{"dataset pts", "column geom", "id=1", "999999"} {
		if !strings.Contains(msg, part) {
			t.Errorf("error %q does not contain %q", msg, part)
		}
	}
}
