package pipeline_test

import (
	"context"
	"strings"

	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/countydatasync/countysync/internal/source/sqlite"

	"github.com/countydatasync/countysync/internal/pipeline"
)

// spatialiteCSV is the layer ogr2ogr writes into a SpatiaLite table: New
// York Long Island feet (EPSG:2263), a point, lines (one with Z) and a
// multipolygon with a hole.
const spatialiteCSV = `id,WKT
1,"POINT (988000 200000)"
2,"LINESTRING (988000 200000,990000 201000,991000 203000,1000000 210000)"
3,"MULTIPOLYGON (((980000 190000,990000 190000,990000 200000,980000 200000,980000 190000),(982000 192000,982000 194000,984000 194000,982000 192000)),((1000000 200000,1001000 200000,1001000 201000,1000000 200000)))"
4,"LINESTRING Z (988000 200000 10,990000 201000 20,991000 203000 30)"
`

// ogr writes a SpatiaLite database with GDAL (an independent writer) and
// returns the GeoJSON GDAL itself makes of it in WGS 84, by id.
func ogrSpatiaLite(t *testing.T, dir string, compress bool) map[string]json.RawMessage {
	t.Helper()
	if _, err := exec.LookPath("ogr2ogr"); err != nil {
		t.Fatal("ogr2ogr writes and reads the SpatiaLite file: install gdal-bin")
	}
	in := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(in, []byte(spatialiteCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	comp := "COMPRESS_GEOM=NO"
	if compress {
		comp = "COMPRESS_GEOM=YES"
	}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ogr2ogr", args...).CombinedOutput(); err != nil || len(out) > 0 {
			t.Fatalf("ogr2ogr %v: %v: %s", args, err, out)
		}
	}
	db := filepath.Join(dir, "spl.sqlite")
	run("-f", "SQLite", "-dsco", "SPATIALITE=YES", "-lco", comp, "-lco", "SPATIAL_INDEX=NO",
		"-lco", "GEOMETRY_NAME=geom", "-a_srs", "EPSG:2263", "-nln", "lots", db, in)
	out := filepath.Join(dir, "ogr.geojson")
	run("-f", "GeoJSON", "-lco", "RFC7946=YES", "-lco", "COORDINATE_PRECISION=12", out, db, "lots")
	var fc struct {
		Features []struct {
			Properties struct {
				ID string `json:"id"`
			} `json:"properties"`
			Geometry json.RawMessage `json:"geometry"`
		} `json:"features"`
	}
	readJSON(t, out, &fc)
	want := map[string]json.RawMessage{}
	for _, f := range fc.Features {
		want[f.Properties.ID] = f.Geometry
	}
	if len(want) != 4 {
		t.Fatalf("GDAL read %d features", len(want))
	}
	return want
}

// SpatiaLite blobs, as GDAL writes them (plain and compressed), decode
// with their SRID: the GeoJSON has GDAL's own reprojection of every
// vertex, with no warning.
func TestSpatiaLiteSource(t *testing.T) {
	for _, compress := range []bool{false, true} {
		name := "plain"
		if compress {
			name = "compressed"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			want := ogrSpatiaLite(t, dir, compress)
			env := newEnv(t, dir, `source: {url: "sqlite://spl.sqlite"}
formats: [csv, geojson]
datasets:
  - name: lots
    query: SELECT CAST(id AS INTEGER) AS id, geom FROM lots ORDER BY 1
    key_columns: [id]
    geometry: {column: geom, precision: 9}
`)
			rep := mustRun(t, env, pipeline.Options{})
			if rep.Datasets[0].WarningCount != 0 {
				t.Errorf("warnings: %v", rep.Datasets[0].Warnings)
			}
			got := geoJSONFeatures(t, artifact(t, rep, "lots", "geojson").Path)
			for id, w := range want {
				if gc, wc := flatCoords(t, got[id]), flatCoords(t, w); !sameVertices(gc, wc, 1e-7) {
					t.Errorf("id=%s: ours %s, GDAL %s", id, got[id], w)
				}
			}
		})
	}
}

// A column of which not one geometry decodes (here blobs of a format the
// product does not read) fails the dataset, naming the first row, and
// publishes nothing; a readable column with some bad rows still succeeds
// with warnings (undecoded_test.go).
func TestUnreadableGeometryColumnFails(t *testing.T) {
	dir := t.TempDir()
	if err := sqlite.CreateDatabase(context.Background(), filepath.Join(dir, "src.sqlite"), `
CREATE TABLE blobs (id INTEGER PRIMARY KEY, geom BLOB);
INSERT INTO blobs VALUES (2, x'FF0102030405'), (1, x'FF0A0B0C0D0E'), (3, NULL);`); err != nil {
		t.Fatal(err)
	}
	env := newEnv(t, dir, `source: {url: "sqlite://src.sqlite"}
formats: [csv, geojson]
datasets:
  - name: blobs
    query: SELECT id, geom FROM blobs ORDER BY id
    key_columns: [id]
    geometry: {column: geom}
`)
	rep, err := pipeline.Run(context.Background(), env, pipeline.Options{})
	if err == nil && rep.Success {
		t.Fatal("a column of unreadable geometry published with success")
	}
	msg := rep.Error + rep.Datasets[0].Error
	for _, part := range []string{"dataset blobs", "none of the 2 geometries", "column geom", "id=1:"} {
		if !strings.Contains(msg, part) {
			t.Errorf("error %q does not contain %q", msg, part)
		}
	}
	if len(rep.Datasets[0].Artifacts) != 0 {
		t.Errorf("artifacts published: %+v", rep.Datasets[0].Artifacts)
	}
}
