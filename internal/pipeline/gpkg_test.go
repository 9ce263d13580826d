package pipeline_test

import (
	"context"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/twpayne/go-geom"

	"github.com/countydatasync/countysync/internal/demo"
	"github.com/countydatasync/countysync/internal/geometry"
	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/record"
)

// gpkg through the whole pipeline, on the streaming path (query in key
// order) and the snapshot path (query in another order): one feature per
// parcel in key order, the geometry the CSV's WKT holds, the bounds of all
// of them; a dataset without geometry is skipped by the top-level list.
func TestGPKGRun(t *testing.T) {
	dir := t.TempDir()
	if _, err := demo.Write(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	env := newEnv(t, dir, `source: {url: "sqlite://`+demo.DatabaseFile+`"}
storage: {url: file://./exports}
formats: [csv, gpkg]
datasets:
  - name: streamed
    query: SELECT * FROM parcels ORDER BY id
    key_columns: [id]
    geometry: {column: geom}
  - name: snapshot
    query: SELECT * FROM parcels ORDER BY id DESC
    key_columns: [id]
    geometry: {column: geom}
  - name: permits
    query: SELECT id, permit_no FROM permits
    key_columns: [id]
`)
	rep := mustRun(t, env, pipeline.Options{})
	for _, d := range rep.Datasets {
		if d.Name == "permits" && (len(d.Artifacts) != 1 || d.Artifacts[0].Format != "csv") {
			t.Errorf("permits artifacts: %+v, want only csv", d.Artifacts)
		}
	}

	var dumps []string
	for _, name := range []string{"streamed", "snapshot"} {
		// The geometries as the CSV has them, by id.
		recs := readCSV(t, artifact(t, rep, name, "csv").Path)
		geomCol := -1
		for i, h := range recs[0] {
			if h == "geom" {
				geomCol = i
			}
		}
		want := map[int64]string{}
		var env geometry.Envelope
		for _, r := range recs[1:] {
			id, _ := strconv.ParseInt(r[0], 10, 64)
			// A geometry that does not decode keeps its source text in the
			// CSV; the GeoPackage has NULL for it.
			if g, err := geometry.Decode(&record.Value{Kind: record.Text, S: r[geomCol]}); r[geomCol] != "" && err == nil {
				want[id] = r[geomCol]
				env.Extend(geometry.EnvelopeOf(g))
			}
		}

		db := openSQLite(t, artifact(t, rep, name, "gpkg").Path)
		rows, err := db.Query(`SELECT fid, id, geom FROM ` + name + ` ORDER BY fid`)
		if err != nil {
			t.Fatal(err)
		}
		n, nulls := 0, 0
		var dump strings.Builder
		for rows.Next() {
			var fid, id int64
			var blob []byte
			if err := rows.Scan(&fid, &id, &blob); err != nil {
				t.Fatal(err)
			}
			n++
			if fid != int64(n) || id != int64(n) {
				t.Fatalf("%s: row %d has fid %d, id %d: want fid and id in key order", name, n, fid, id)
			}
			dump.WriteString(strconv.Quote(string(blob)) + "\n")
			if blob == nil {
				nulls++
				if want[id] != "" {
					t.Errorf("%s id %d: NULL geometry, CSV has %s", name, id, want[id])
				}
				continue
			}
			got := decode(t, &record.Value{Kind: record.Bytes, B: blob})
			w := decode(t, &record.Value{Kind: record.Text, S: want[id]})
			if !sameCoords(got.FlatCoords(), w.FlatCoords()) || got.Layout() != w.Layout() {
				t.Errorf("%s id %d: gpkg %s, CSV %s", name, id, geometry.AppendWKT(nil, got), want[id])
			}
		}
		rows.Close()
		if n != demo.Parcels || nulls == 0 {
			t.Errorf("%s: %d features, %d without geometry; want %d with the broken one NULL", name, n, nulls, demo.Parcels)
		}
		var b [4]float64
		if err := db.QueryRow(`SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = ?`, name).Scan(&b[0], &b[1], &b[2], &b[3]); err != nil {
			t.Fatal(err)
		}
		if b != [4]float64{env.MinX, env.MinY, env.MaxX, env.MaxY} {
			t.Errorf("%s: bounds %v, CSV geometries span %+v", name, b, env)
		}
		dumps = append(dumps, dump.String())
	}
	if dumps[0] != dumps[1] {
		t.Error("the streamed and the snapshot GeoPackage hold different geometries")
	}

	// --formats gpkg has nothing to write for a dataset without geometry.
	permits := env.Config.Dataset("permits")
	if got := pipeline.FormatsFor(permits, pipeline.Options{Formats: []string{"gpkg", "csv"}}); len(got) != 1 || got[0] != "csv" {
		t.Errorf("FormatsFor(permits, gpkg,csv) = %v", got)
	}
	err := pipeline.CheckOptions(env.Config.Datasets[2:], pipeline.Options{Formats: []string{"gpkg"}})
	if err == nil || !strings.Contains(err.Error(), "nothing to write for dataset permits (geojson and gpkg need a geometry: column)") {
		t.Errorf("CheckOptions --formats gpkg for permits: %v", err)
	}
}

// decode decodes a geometry value with the package geometry's decoder.
func decode(t *testing.T, v *record.Value) geom.T {
	t.Helper()
	g, err := geometry.Decode(v)
	if err != nil {
		t.Fatalf("%v: %v", v, err)
	}
	return g
}

// sameCoords compares flat coordinates within 1e-9.
func sameCoords(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-9 {
			return false
		}
	}
	return true
}
