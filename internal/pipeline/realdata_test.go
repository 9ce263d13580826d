package pipeline_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countydatasync/countysync/internal/pipeline"
)

// rSFData returns the folder of the data sets R's sf package ships
// (Debian r-cran-sf, unpacked by scripts/services.sh into
// COUNTYSYNC_TEST_RSF without installing R: its gpkg/ and sqlite/ folders): North Carolina's 100
// counties in NAD27 (EPSG:4267), as a GeoPackage and as a plain SQLite
// table of WKB. Outside CI a missing folder skips.
func rSFData(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("COUNTYSYNC_TEST_RSF")
	if dir == "" || !fileExists(filepath.Join(dir, "gpkg", "nc.gpkg")) {
		if os.Getenv("CI") == "true" {
			t.Fatal("COUNTYSYNC_TEST_RSF does not hold sf's data sets: run scripts/services.sh")
		}
		t.Skip("sf's data sets not unpacked (scripts/services.sh sets COUNTYSYNC_TEST_RSF)")
	}
	return dir
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// ogrGeoJSON is GDAL's RFC 7946 GeoJSON of a layer, reprojected to WGS 84
// by GDAL (PROJ), by the value of the property idProp.
func ogrGeoJSON(t *testing.T, src, layer, idProp string) map[string]json.RawMessage {
	t.Helper()
	out := filepath.Join(t.TempDir(), "ogr.geojson")
	cmd := exec.Command("ogr2ogr", "-f", "GeoJSON", "-t_srs", "EPSG:4326", "-lco", "RFC7946=YES",
		"-lco", "COORDINATE_PRECISION=9", out, src, layer)
	if b, err := cmd.CombinedOutput(); err != nil || len(b) > 0 {
		t.Fatalf("ogr2ogr: %v: %s", err, b)
	}
	var fc struct {
		Features []struct {
			Properties map[string]any  `json:"properties"`
			Geometry   json.RawMessage `json:"geometry"`
		} `json:"features"`
	}
	readJSON(t, out, &fc)
	want := map[string]json.RawMessage{}
	for _, f := range fc.Features {
		want[toString(f.Properties[idProp])] = f.Geometry
	}
	return want
}

func toString(v any) string {
	switch v := v.(type) {
	case json.Number:
		return v.String()
	case string:
		return v
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// North Carolina's counties in NAD27, from the GeoPackage (its blobs carry
// SRID 4267) and from the plain SQLite table (WKB without an SRID, so the
// config says geometry.srid: 4267), are published in GeoJSON as GDAL
// reprojects them, every vertex to 1e-7 degrees, with no warning.
func TestRealNorthCarolinaNAD27(t *testing.T) {
	dir := rSFData(t)
	cases := []struct {
		name, src, layer, query, geometry string
	}{
		{"gpkg", filepath.Join(dir, "gpkg", "nc.gpkg"), "nc.gpkg",
			`SELECT "FIPS" AS fips, "NAME" AS name, "AREA" AS area, geom FROM "nc.gpkg"`, `{column: geom, precision: 9}`},
		{"sqlite", filepath.Join(dir, "sqlite", "nc.sqlite"), "nc.sqlite",
			`SELECT fips, name, area, "GEOMETRY" AS geom FROM "nc.sqlite"`, `{column: geom, srid: 4267, precision: 9}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := ogrGeoJSON(t, c.src, c.layer, map[string]string{"gpkg": "FIPS", "sqlite": "fips"}[c.name])
			if len(want) != 100 {
				t.Fatalf("GDAL read %d counties", len(want))
			}
			work := t.TempDir()
			env := newEnv(t, work, `source: {url: "sqlite://`+c.src+`"}
formats: [csv, geojson, gpkg]
datasets:
  - name: nc
    query: '`+c.query+`'
    key_columns: [fips]
    geometry: `+c.geometry+`
`)
			rep := mustRun(t, env, pipeline.Options{})
			if ds := rep.Datasets[0]; ds.Records != 100 || ds.WarningCount != 0 {
				t.Errorf("%d records, warnings %v", ds.Records, ds.Warnings)
			}
			got := geoJSONFeatures(t, artifact(t, rep, "nc", "geojson").Path)
			for fips, w := range want {
				if gc, wc := flatCoords(t, got[fips]), flatCoords(t, w); !sameVertices(gc, wc, 1e-7) {
					t.Errorf("FIPS %s: %d numbers, GDAL %d, or a vertex further than 1e-7°", fips, len(gc), len(wc))
				}
			}
			// And GDAL reads our GeoPackage without a word, with the index.
			gp := artifact(t, rep, "nc", "gpkg").Path
			if out, err := exec.Command("ogrinfo", "-ro", gp, "-sql", "SELECT HasSpatialIndex('nc', 'geom')").CombinedOutput(); err != nil ||
				!strings.Contains(string(out), "= 1") {
				t.Errorf("HasSpatialIndex: %v\n%s", err, out)
			}
			fromGPKG := ogrGeoJSON(t, gp, "nc", "fips")
			for fips, w := range want {
				if gc, wc := flatCoords(t, fromGPKG[fips]), flatCoords(t, w); !sameVertices(gc, wc, 1e-7) {
					t.Errorf("gpkg FIPS %s differs from GDAL's reprojection", fips)
				}
			}
		})
	}
}
