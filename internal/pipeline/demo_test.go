package pipeline_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/demo"
	"github.com/countydatasync/countysync/internal/pipeline"
)

// TestDemoEndToEnd runs the demo county through the embedded pipeline and
// checks every file with an independent reader against the source database.
func TestDemoEndToEnd(t *testing.T) {
	env, dir := demoEnv(t)
	rep := mustRun(t, env, pipeline.Options{})

	// The report has the seed's keys.
	raw, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"job_id", "start_time", "end_time", "success", "stats", "parcels_db_path",
		"parcels_export_paths", "permits_db_path", "permits_export_paths", "warnings"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("report lacks %q", k)
		}
	}
	stats := doc["stats"].(map[string]any)
	if stats["parcels_records"] != float64(demo.Parcels) || stats["permits_records"] != float64(demo.Permits) ||
		stats["records_processed"] != float64(demo.Parcels+demo.Permits) {
		t.Errorf("stats = %v", stats)
	}
	if _, ok := stats["duration_seconds"].(float64); !ok {
		t.Errorf("duration_seconds missing: %v", stats)
	}
	if paths := doc["parcels_export_paths"].(map[string]any); len(paths) != 4 {
		t.Errorf("parcels_export_paths = %v", paths)
	}

	src := openSQLite(t, filepath.Join(dir, demo.DatabaseFile))
	checkPermitsCSV(t, src, artifact(t, rep, "permits", "csv").Path)
	checkParcelsGeoJSON(t, rep, artifact(t, rep, "parcels", "geojson").Path)
	checkParcelsSQLite(t, artifact(t, rep, "parcels", "sqlite").Path)

	// Latest names are relative symlinks to this run's files.
	exports := filepath.Join(dir, "exports")
	for _, f := range []string{"parcels.csv", "parcels.geojson", "permits.json", "permits.sqlite"} {
		target, err := os.Readlink(filepath.Join(exports, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !strings.Contains(target, strings.TrimPrefix(rep.JobID, "etl_")) || filepath.IsAbs(target) {
			t.Errorf("%s -> %s, want a relative link to job %s", f, target, rep.JobID)
		}
	}
	manifest, err := os.ReadFile(filepath.Join(exports, "manifests", rep.JobID+".json"))
	if err != nil || !strings.Contains(string(manifest), `"sha256"`) {
		t.Fatalf("manifest: %v %.200s", err, manifest)
	}

	// A second run a second later writes new files and leaves the first.
	time.Sleep(time.Until(rep.Start.Truncate(time.Second).Add(time.Second)))
	rep2 := mustRun(t, env, pipeline.Options{})
	if rep2.JobID == rep.JobID {
		t.Fatalf("second run reused job id %s", rep.JobID)
	}
	parcels2 := rep2.Datasets[0]
	if parcels2.Mode != "incremental" || parcels2.Records != demo.Parcels {
		t.Errorf("second parcels run: mode %s, %d records", parcels2.Mode, parcels2.Records)
	}
	for _, a := range []*pipeline.Artifact{artifact(t, rep, "parcels", "csv"), artifact(t, rep, "permits", "json")} {
		if _, err := os.Stat(a.Path); err != nil {
			t.Errorf("first run's %s is gone: %v", a.Path, err)
		}
	}
	target, _ := os.Readlink(filepath.Join(exports, "parcels.csv"))
	if want := filepath.Base(artifact(t, rep2, "parcels", "csv").Path); target != want {
		t.Errorf("parcels.csv -> %s, want %s", target, want)
	}
}

// checkPermitsCSV compares the permits CSV with the source rows, applying
// the demo's transformations independently.
func checkPermitsCSV(t *testing.T, src *sql.DB, path string) {
	t.Helper()
	recs := readCSV(t, path)
	wantHeader := "id,permit_no,parcel_id,kind,status,fee,issued_on,inspected_at,description,contractor"
	if got := strings.Join(recs[0], ","); got != wantHeader {
		t.Fatalf("header = %s", got)
	}
	rows, err := src.Query(`SELECT id, permit_no, parcel_id, kind, status, CAST(fee AS TEXT), CAST(issued_on AS TEXT), CAST(inspected_at AS TEXT),
		description, contractor FROM permits ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	raw, _ := os.ReadFile(path)
	n := 0
	for rows.Next() {
		var id, parcel int64
		var no, kind, status, fee, issued string
		var inspected, desc, contractor sql.NullString
		if err := rows.Scan(&id, &no, &parcel, &kind, &status, &fee, &issued, &inspected, &desc, &contractor); err != nil {
			t.Fatal(err)
		}
		n++
		got := recs[n]
		want := []string{fmt.Sprint(id), no, fmt.Sprint(parcel), kind, strings.ToUpper(status), roundHalfUp2(t, fee), issued,
			isoNoZone(inspected), desc.String, strings.TrimSpace(contractor.String)}
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Errorf("permit %d:\n got %q\nwant %q", id, got, want)
		}
	}
	if n != len(recs)-1 {
		t.Errorf("CSV has %d rows, source %d", len(recs)-1, n)
	}
	// NULL is an empty unquoted field, the empty string is "".
	if !strings.Contains(string(raw), `,""`) {
		t.Error(`no "" for an empty description`)
	}
	if !strings.Contains(string(raw), ",\"\\.\",") {
		t.Error(`\. is not quoted as COPY does`)
	}
}

func isoNoZone(s sql.NullString) string {
	if !s.Valid {
		return ""
	}
	return strings.Replace(s.String, " ", "T", 1)
}

// roundHalfUp2 rounds a positive decimal string to two places, half away
// from zero, with math/big (independent of the transform package).
func roundHalfUp2(t *testing.T, s string) string {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("bad decimal %q", s)
	}
	r.Mul(r, big.NewRat(100, 1))
	r.Add(r, big.NewRat(1, 2))
	q := new(big.Int).Quo(r.Num(), r.Denom())
	str := fmt.Sprintf("%03d", q)
	return str[:len(str)-2] + "." + str[len(str)-2:]
}

type featureCollection struct {
	Type     string `json:"type"`
	CRS      any    `json:"crs"`
	Features []struct {
		Type       string          `json:"type"`
		ID         json.Number     `json:"id"`
		Geometry   json.RawMessage `json:"geometry"`
		Properties map[string]any  `json:"properties"`
	} `json:"features"`
}

type geometryObj struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
}

func checkParcelsGeoJSON(t *testing.T, rep *pipeline.Report, path string) {
	t.Helper()
	var fc featureCollection
	readJSON(t, path, &fc)
	if fc.Type != "FeatureCollection" || fc.CRS != nil || len(fc.Features) != demo.Parcels {
		t.Fatalf("collection: type %s crs %v, %d features", fc.Type, fc.CRS, len(fc.Features))
	}
	byID := map[string]int{}
	for i, f := range fc.Features {
		byID[f.ID.String()] = i
		if _, ok := f.Properties["geom"]; ok {
			t.Fatal("geometry column repeated in properties")
		}
	}
	for _, id := range []string{"10", "11"} { // empty, broken
		if g := string(fc.Features[byID[id]].Geometry); g != "null" {
			t.Errorf("feature %s geometry = %s, want null", id, g)
		}
	}
	found := false
	for _, w := range rep.Datasets[0].Warnings {
		if strings.Contains(w, "id=11") && strings.Contains(w, "geom") {
			found = true
		}
	}
	if !found {
		t.Errorf("no warning names parcel 11: %v", rep.Datasets[0].Warnings)
	}
	// Parcel 9 is clockwise in the source: exterior must come out CCW.
	// Parcel 7 has a hole: exterior CCW, hole CW.
	for id, wantSigns := range map[string][]int{"9": {1}, "7": {1, -1}, "1": {1}} {
		var g geometryObj
		json.Unmarshal(fc.Features[byID[id]].Geometry, &g)
		var rings [][][]float64
		if err := json.Unmarshal(g.Coordinates, &rings); err != nil || g.Type != "Polygon" {
			t.Fatalf("feature %s: %s %v", id, g.Type, err)
		}
		for i, ring := range rings {
			if sign(area(ring)) != wantSigns[i] {
				t.Errorf("feature %s ring %d has signed area %g, want sign %d", id, i, area(ring), wantSigns[i])
			}
		}
	}
	var mp geometryObj
	json.Unmarshal(fc.Features[byID["8"]].Geometry, &mp)
	if mp.Type != "MultiPolygon" {
		t.Errorf("feature 8 type %s", mp.Type)
	}
}

func area(ring [][]float64) float64 {
	a := 0.0
	for i := 0; i+1 < len(ring); i++ {
		a += ring[i][0]*ring[i+1][1] - ring[i+1][0]*ring[i][1]
	}
	return a / 2
}

func sign(f float64) int {
	if f > 0 {
		return 1
	}
	if f < 0 {
		return -1
	}
	return 0
}

func checkParcelsSQLite(t *testing.T, path string) {
	t.Helper()
	db := openSQLite(t, path)
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM parcels_data`).Scan(&n); err != nil || n != demo.Parcels {
		t.Fatalf("parcels_data count = %d, %v", n, err)
	}
	rows, err := db.Query(`SELECT name, type, pk FROM pragma_table_info('parcels_data')`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	types := map[string]string{}
	pk := ""
	for rows.Next() {
		var name, typ string
		var p int
		rows.Scan(&name, &typ, &p)
		types[name] = typ
		if p > 0 {
			pk = name
		}
	}
	if pk != "id" || types["id"] != "INTEGER" || types["area_sqft"] != "REAL" || types["geom"] != "TEXT" {
		t.Errorf("table_info: pk %q, types %v", pk, types)
	}
	var wkt, typ string
	if err := db.QueryRow(`SELECT geom, typeof(assessed_value) FROM parcels_data WHERE id = 9`).Scan(&wkt, &typ); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(wkt, "POLYGON((") {
		t.Errorf("geom of 9 = %q", wkt)
	}
}
