package format

import (
	"bytes"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twpayne/go-geom"
	geomjson "github.com/twpayne/go-geom/encoding/geojson"

	"github.com/countydatasync/countysync/internal/geometry"
	"github.com/countydatasync/countysync/internal/record"
)

// gpkgRows is the fixture plus rows for what only GeoPackage does
// differently: a point with Z, a web mercator point (written in lon/lat),
// a multipolygon with a hole, sub-millisecond timestamps, NaN and infinity
// in a REAL numeric column, infinite dates.
func gpkgRows() []record.Row {
	rows := fixtureRows()
	row := func(id int64, g geom.T, set map[string]record.Value) record.Row {
		r := make(record.Row, len(fixtureSchema.Columns))
		r[0] = record.IntValue(id)
		if g != nil {
			r[fixtureSchema.Index("geom")] = geomValue(g)
		}
		for name, v := range set {
			r[fixtureSchema.Index(name)] = v
		}
		return r
	}
	return append(rows,
		row(8, geom.NewPointFlat(geom.XYZ, []float64{1, 2, 3}).SetSRID(4326), map[string]record.Value{
			"price":  record.NumericValue("NaN"),
			"amount": record.NumericValue("-12345678901234567890.0000000001"),
			"ts":     record.TimestampTZValue(time.Date(2025, 12, 31, 23, 59, 59, 999999000, time.UTC)),
			"local":  record.TimestampValue(time.Date(2025, 12, 31, 23, 59, 59, 999999000, time.UTC)),
			"day":    {Kind: record.Date, S: "infinity"},
		}),
		row(9, geom.NewPointFlat(geom.XY, []float64{-8238310.235647004, 4970071.579142425}).SetSRID(3857), map[string]record.Value{
			"name":  record.TextValue(`O'Brien "Bob" — Straße ☃ '' ;--`),
			"price": record.NumericValue("Infinity"),
			"ts":    {Kind: record.TimestampTZ, S: "-infinity"},
			"local": {Kind: record.Timestamp, S: "infinity"},
		}),
		row(10, geom.NewMultiPolygon(geom.XY).MustSetCoords([][][]geom.Coord{
			{{{10, -5}, {12, -5}, {12, -3}, {10, -3}, {10, -5}}},
			{{{20, 20}, {20, 30}, {30, 30}, {30, 20}, {20, 20}}, {{22, 22}, {28, 22}, {28, 28}, {22, 28}, {22, 22}}},
		}).SetSRID(4326), nil),
	)
}

// wantGPKGBounds are the bounds of every geometry of gpkgRows: x from the
// fixture's polygon (-122.5) to row 10 (30), y from row 10 (-5) to the
// web mercator point converted (40.7128, PostGIS's value).
var wantGPKGBounds = [4]float64{-122.5, -5, 30, 40.712799999999994}

// TestGPKG reads the file back with database/sql: the GeoPackage metadata,
// the PRAGMAs, the declared types and the stored values.
func TestGPKG(t *testing.T) {
	before := time.Now().UTC().Truncate(time.Millisecond)
	path := writeAll(t, "gpkg", fixtureOptions(), gpkgRows())
	after := time.Now().UTC()
	db := openDB(t, path)

	for _, c := range []struct{ query, want string }{
		{"PRAGMA application_id", "1196444487"}, // 0x47504B47 "GPKG"
		{"PRAGMA user_version", "10300"},
		{"PRAGMA integrity_check", "ok"},
		{"PRAGMA foreign_key_check", ""},
		{`SELECT group_concat(srs_id || ':' || organization || ':' || organization_coordsys_id || ':' || srs_name, '|')
		    FROM (SELECT * FROM gpkg_spatial_ref_sys ORDER BY srs_id)`,
			"-1:NONE:-1:Undefined cartesian SRS|0:NONE:0:Undefined geographic SRS|4326:EPSG:4326:WGS 84 geodetic"},
		{`SELECT substr(definition, 1, 35) FROM gpkg_spatial_ref_sys WHERE srs_id = 4326`, `GEOGCS["WGS 84",DATUM["WGS_1984",SP`},
		{`SELECT group_concat(quote(table_name) || quote(data_type) || quote(identifier) || quote(srs_id), '|') FROM gpkg_contents`,
			`'parcels''features''parcels'4326`},
		{`SELECT group_concat(table_name || ':' || column_name || ':' || geometry_type_name || ':' || srs_id || ':' || z || ':' || m)
		    FROM gpkg_geometry_columns`, "parcels:geom:GEOMETRY:4326:2:2"},
		{`SELECT group_concat(fid || '=' || id, ',') FROM (SELECT * FROM parcels ORDER BY fid)`, "1=1,2=2,3=3,4=4,5=5,6=6,7=7,8=8,9=9,10=10"},
		{`SELECT sql LIKE '%"fid" INTEGER PRIMARY KEY AUTOINCREMENT,%' FROM sqlite_master WHERE name = 'parcels'`, "1"},
		// The spatial index, as GDAL writes it: the extension, the R-tree
		// (one entry per non-NULL, non-empty geometry) and six triggers.
		{`SELECT table_name || ':' || column_name || ':' || extension_name || ':' || scope FROM gpkg_extensions`, "parcels:geom:gpkg_rtree_index:write-only"},
		{`SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'rtree_parcels_geom_%'`, "6"},
		{`SELECT (SELECT count(*) FROM rtree_parcels_geom) = (SELECT count(*) FROM parcels WHERE geom IS NOT NULL AND substr(hex(geom), 7, 2) NOT IN ('11', '31'))`, "1"},
	} {
		var got sql.NullString
		if err := db.QueryRow(c.query).Scan(&got); err != nil && !(err == sql.ErrNoRows && c.want == "") {
			t.Errorf("%s: %v", c.query, err)
		} else if got.String != c.want {
			t.Errorf("%s = %q, want %q", c.query, got.String, c.want)
		}
	}

	// last_change is the close time, ISO 8601 UTC with milliseconds; the
	// bounds cover every geometry, in lon/lat. (Read as an expression:
	// go-sqlite3 parses a DATETIME column's text into a time.Time, which
	// database/sql formats again, dropping trailing zeros.)
	var last string
	var b [4]float64
	if err := db.QueryRow(`SELECT '' || last_change, min_x, min_y, max_x, max_y FROM gpkg_contents`).Scan(&last, &b[0], &b[1], &b[2], &b[3]); err != nil {
		t.Fatal(err)
	}
	if ts, err := time.Parse(gpkgDateTime, last); err != nil || ts.Before(before) || ts.After(after) {
		t.Errorf("last_change %q (%v), want %s form between %s and %s", last, err, gpkgDateTime, before, after)
	}
	for i := range b {
		if math.Abs(b[i]-wantGPKGBounds[i]) > 1e-9 {
			t.Errorf("bounds %v, want %v", b, wantGPKGBounds)
			break
		}
	}

	// Declared types: only GeoPackage's, the key NOT NULL with a UNIQUE index.
	type colInfo struct {
		typ     string
		notnull int
		pk      int
	}
	want := []struct {
		name string
		colInfo
	}{
		{"fid", colInfo{"INTEGER", 0, 1}}, {"id", colInfo{"INTEGER", 1, 0}}, {"name", colInfo{"TEXT", 0, 0}}, {"note", colInfo{"TEXT", 0, 0}},
		{"amount", colInfo{"REAL", 0, 0}}, // numeric(30,10): REAL as GDAL declares it (digits rounded)
		{"price", colInfo{"REAL", 0, 0}}, {"ratio", colInfo{"REAL", 0, 0}}, {"flag", colInfo{"BOOLEAN", 0, 0}},
		{"day", colInfo{"DATE", 0, 0}}, {"ts", colInfo{"DATETIME", 0, 0}}, {"local", colInfo{"TEXT", 0, 0}},
		{"uid", colInfo{"TEXT", 0, 0}}, {"attrs", colInfo{"TEXT", 0, 0}}, {"tags", colInfo{"TEXT", 0, 0}}, {"raw", colInfo{"BLOB", 0, 0}},
		{"geom", colInfo{"GEOMETRY", 0, 0}}, {`we"ird, col`, colInfo{"TEXT", 0, 0}}, {"select", colInfo{"TEXT", 0, 0}},
	}
	rows, err := db.Query(`SELECT name, type, "notnull", pk FROM pragma_table_info('parcels') ORDER BY cid`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for ; rows.Next(); n++ {
		var name string
		var c colInfo
		if err := rows.Scan(&name, &c.typ, &c.notnull, &c.pk); err != nil {
			t.Fatal(err)
		}
		if n >= len(want) || name != want[n].name || c != want[n].colInfo {
			t.Errorf("column %d: %s %+v, want %+v", n, name, c, want[min(n, len(want)-1)])
		}
	}
	rows.Close()
	if n != len(want) {
		t.Errorf("%d columns, want %d", n, len(want))
	}
	var unique string
	if err := db.QueryRow(`SELECT group_concat(ii.name) FROM pragma_index_list('parcels') il, pragma_index_info(il.name) ii WHERE il."unique"`).Scan(&unique); err != nil || unique != "id" {
		t.Errorf("unique index on %q (%v), want id", unique, err)
	}

	// Stored values where GeoPackage differs from the sqlite format.
	res, err := db.Query(`SELECT id, typeof(price) || ':' || quote(price), quote(ts), quote(day), quote(local), quote(amount), quote(name) FROM parcels ORDER BY fid`)
	if err != nil {
		t.Fatal(err)
	}
	wantVals := map[int64]string{
		1: `real:1234.5|'2025-04-11T12:30:42.123Z'|'2025-04-11'|'2025-04-11T14:30:42.5'|1.2345678901234567e+19|'Alice'`,
		2: `real:-0.01|'2025-01-02T03:04:05.000Z'|'2025-04-12'|'2025-01-02T03:04:05'|1.5|''`,
		3: `null:NULL|NULL|NULL|NULL|NULL|'Zoë 北京 😀 ` + "\u2028 \u2029" + `'`,
		4: `real:100.0|NULL|NULL|NULL|-1.0e-10|NULL`,
		6: `real:0.0|NULL|NULL|NULL|42.0|'bad` + "\xff" + `byte'`,
		// NaN price: NULL; milliseconds cut, not rounded; infinite date: NULL.
		8: `null:NULL|'2025-12-31T23:59:59.999Z'|NULL|'2025-12-31T23:59:59.999999'|-1.2345678901234567e+19|NULL`,
		// Infinite DATETIME: NULL; infinite timestamp (TEXT): as text.
		9: `real:9.0e+999|NULL|NULL|'infinity'|NULL|'O''Brien "Bob" — Straße ☃ '''' ;--'`,
	}
	for res.Next() {
		var id int64
		v := make([]string, 6)
		if err := res.Scan(&id, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]); err != nil {
			t.Fatal(err)
		}
		if w, ok := wantVals[id]; ok && strings.Join(v, "|") != w {
			t.Errorf("id %d:\n got %s\nwant %s", id, strings.Join(v, "|"), w)
		}
	}
	res.Close()

	// Geometry blobs: hand-written for the point, empty flag for the empty
	// polygon, NULL for NULL and unparsed geometry, all others decodable.
	geoms := map[int64][]byte{}
	res, err = db.Query(`SELECT id, geom FROM parcels`)
	if err != nil {
		t.Fatal(err)
	}
	for res.Next() {
		var id int64
		var blob []byte
		if err := res.Scan(&id, &blob); err != nil {
			t.Fatal(err)
		}
		geoms[id] = blob
	}
	res.Close()
	point := "47500003" + "e6100000" + "000000000000f83f" + "000000000000f83f" + "00000000000002c0" + "00000000000002c0" +
		"0101000000" + "000000000000f83f" + "00000000000002c0" // POINT(1.5 -2.25)
	if got := hex.EncodeToString(geoms[6]); got != point {
		t.Errorf("POINT(1.5 -2.25):\n got %s\nwant %s", got, point)
	}
	if got := hex.EncodeToString(geoms[3]); got != "47500011e6100000010300000000000000" {
		t.Errorf("POLYGON EMPTY: %s", got)
	}
	for _, id := range []int64{4, 5, 7} {
		if geoms[id] != nil {
			t.Errorf("id %d: geometry %x, want NULL", id, geoms[id])
		}
	}
	for id, blob := range geoms {
		if blob == nil {
			continue
		}
		g, err := geometry.Decode(&record.Value{Kind: record.Bytes, B: blob})
		if err != nil || g.SRID() != 4326 {
			t.Errorf("id %d: %v, SRID %v", id, err, g)
		}
	}
}

// needTool returns the path of a command-line tool, or skips the test when
// it is missing; under CI=true a missing tool fails it (as testsvc.Need
// does for services).
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found: under CI=true it must be installed (%s)", name, pkg)
	}
	t.Skipf("%s not found (install %s)", name, pkg)
	return ""
}

// runGDAL runs a GDAL tool and fails the test if it fails or prints
// anything on stderr (GDAL's warnings about the file).
func runGDAL(t *testing.T, tool string, args ...string) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(needTool(t, tool, "Debian package gdal-bin"), args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, stderr.Bytes())
	}
	return stdout.Bytes()
}

// TestGPKGWithGDAL reads the file with GDAL, the independent reader: every
// feature, its attributes and its geometry must be what went in, and GDAL
// must not warn about anything.
func TestGPKGWithGDAL(t *testing.T) {
	in := gpkgRows()
	path := writeAll(t, "gpkg", fixtureOptions(), in)

	info := string(runGDAL(t, "ogrinfo", "-ro", "-al", path))
	for _, want := range []string{"using driver `GPKG' successful", "Layer name: parcels", fmt.Sprintf("Feature Count: %d", len(in)),
		`ID["EPSG",4326]]`, "FID Column = fid", "Geometry Column = geom", "POINT Z (1 2 3)", "POLYGON EMPTY"} {
		if !strings.Contains(info, want) {
			t.Errorf("ogrinfo output lacks %q:\n%s", want, info)
		}
	}
	if out := string(runGDAL(t, "ogrinfo", "-ro", path, "-sql", "SELECT HasSpatialIndex('parcels', 'geom')")); !strings.Contains(out, "= 1") {
		t.Errorf("GDAL finds no spatial index:\n%s", out)
	}
	// The triggers run under GDAL: deleting a feature through it removes
	// its R-tree entry (checked after the feature reads below).
	defer func() {
		var n int
		if err := openDB(t, path).QueryRow(`SELECT count(*) FROM rtree_parcels_geom WHERE id = 1`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("R-tree entries of fid 1: %d (%v), want 1", n, err)
		}
		runGDAL(t, "ogrinfo", path, "-q", "-sql", "DELETE FROM parcels WHERE fid = 1")
		if err := openDB(t, path).QueryRow(`SELECT count(*) FROM rtree_parcels_geom WHERE id = 1`).Scan(&n); err != nil || n != 0 {
			t.Errorf("R-tree entry of a feature GDAL deleted: %d (%v)", n, err)
		}
	}()
	if m := regexp.MustCompile(`Extent: \(([-0-9.]+), ([-0-9.]+)\) - \(([-0-9.]+), ([-0-9.]+)\)`).FindStringSubmatch(info); m == nil ||
		m[1] != "-122.500000" || m[2] != "-5.000000" || m[3] != "30.000000" || m[4] != "40.712800" {
		t.Errorf("ogrinfo extent %q, want (-122.5, -5) - (30, 40.7128)", m)
	}

	// Every feature as GeoJSON: binary fields in hex, non-finite numbers as
	// bare tokens (made strings below), full coordinate precision.
	out := runGDAL(t, "ogr2ogr", "-f", "GeoJSON", "/vsistdout/", path,
		"-mapFieldType", "Binary=String", "-lco", "WRITE_NON_FINITE_VALUES=YES", "-lco", "RFC7946=NO", "-lco", "COORDINATE_PRECISION=15")
	out = regexp.MustCompile(`(": )(-?Infinity|NaN)([,\s}])`).ReplaceAll(out, []byte(`$1"$2"$3`))
	var fc struct {
		Features []struct {
			Properties map[string]any
			Geometry   *struct {
				Type        string
				Coordinates any
			}
		}
	}
	if err := json.Unmarshal(out, &fc); err != nil {
		t.Fatalf("ogr2ogr output: %v\n%s", err, out)
	}
	if len(fc.Features) != len(in) {
		t.Fatalf("%d features, want %d", len(fc.Features), len(in))
	}
	for n, f := range fc.Features {
		r := in[n]
		id := r[0].I
		if len(f.Properties) != len(fixtureSchema.Columns)-1 {
			t.Errorf("id %d: %d properties, want every column but geom: %v", id, len(f.Properties), f.Properties)
		}
		for i, c := range fixtureSchema.Columns {
			if c.Name == "geom" {
				continue
			}
			got, ok := f.Properties[c.Name]
			if !ok {
				t.Errorf("id %d: no property %q", id, c.Name)
				continue
			}
			if want := gdalValue(t, c, &r[i]); !sameGDALValue(got, want) {
				t.Errorf("id %d, %s: GDAL reads %#v, want %#v", id, c.Name, got, want)
			}
		}
		want := gdalGeometry(t, &r[fixtureSchema.Index("geom")])
		switch {
		case want == nil && f.Geometry != nil:
			t.Errorf("id %d: geometry %+v, want null", id, f.Geometry)
		case want != nil && f.Geometry == nil:
			t.Errorf("id %d: geometry null, want %s", id, want.Type)
		case want != nil && (f.Geometry.Type != want.Type || !coordsNear(f.Geometry.Coordinates, want.Coordinates)):
			t.Errorf("id %d: geometry %s %v, want %s %s", id, f.Geometry.Type, f.Geometry.Coordinates, want.Type, *want.Coordinates)
		}
	}
}

// gdalValue is what GDAL's GeoJSON output of a gpkg attribute holds
// (docs/ARCHITECTURE.md, Values per format: the GeoPackage column), as
// encoding/json decodes it.
func gdalValue(t *testing.T, c record.Column, v *record.Value) any {
	if v.Kind == record.Null {
		return nil
	}
	switch v.Kind {
	case record.Int:
		return float64(v.I)
	case record.Float, record.Numeric:
		if c.Kind == record.Numeric && gpkgType(c) == "TEXT" {
			return v.S
		}
		f := v.F
		if c.Kind == record.Numeric {
			f = mustFloat(t, v.S)
		}
		switch {
		case math.IsNaN(f):
			return nil
		case math.IsInf(f, 1):
			return "Infinity"
		case math.IsInf(f, -1):
			return "-Infinity"
		}
		return f
	case record.Bool:
		return v.I != 0
	case record.Date:
		if v.S != "" {
			return nil
		}
		return v.T.Format("2006-01-02")
	case record.TimestampTZ:
		if v.S != "" {
			return nil
		}
		return v.T.Truncate(time.Millisecond)
	case record.Bytes:
		return strings.ToUpper(hex.EncodeToString(v.B))
	case record.JSON, record.Array:
		// GDAL writes text holding a JSON object or array as JSON.
		if s := strings.TrimSpace(v.S); strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[") {
			var x any
			if err := json.Unmarshal([]byte(s), &x); err != nil {
				t.Fatal(err)
			}
			return x
		}
	}
	return strings.ToValidUTF8(string(record.AppendText(nil, v)), "\uFFFD")
}

func mustFloat(t *testing.T, s string) float64 {
	t.Helper()
	var f float64
	if _, err := fmt.Sscan(s, &f); err != nil && s != "NaN" && s != "Infinity" && s != "-Infinity" {
		t.Fatalf("%q: %v", s, err)
	}
	switch s {
	case "NaN":
		return math.NaN()
	case "Infinity":
		return math.Inf(1)
	case "-Infinity":
		return math.Inf(-1)
	}
	return f
}

// sameGDALValue compares a decoded GeoJSON property with gdalValue's;
// times compare as instants (GDAL leaves out ".000").
func sameGDALValue(got, want any) bool {
	if wt, ok := want.(time.Time); ok {
		s, _ := got.(string)
		gt, err := time.Parse(time.RFC3339Nano, s)
		return err == nil && gt.Equal(wt) && strings.HasSuffix(s, "Z")
	}
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	return bytes.Equal(g, w)
}

// gdalGeometry is the GeoJSON geometry GDAL should read for v: go-geom's
// own GeoJSON encoding (rings in their order) of the lon/lat geometry,
// written by hand for the web mercator row; nil for NULL and unparsed.
func gdalGeometry(t *testing.T, v *record.Value) *geomjson.Geometry {
	if v.G == nil {
		return nil
	}
	g := v.G
	if g.SRID() == 3857 {
		g = geom.NewPointFlat(geom.XY, []float64{-74.006, 40.712799999999994}) // PostGIS ST_Transform
	}
	gj, err := geomjson.Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	return gj
}

// coordsNear compares nested coordinate arrays within 1e-9.
func coordsNear(got any, want any) bool {
	var w any
	switch x := want.(type) {
	case *json.RawMessage:
		if err := json.Unmarshal(*x, &w); err != nil {
			return false
		}
	default:
		w = x
	}
	switch w := w.(type) {
	case float64:
		g, ok := got.(float64)
		return ok && math.Abs(g-w) <= 1e-9
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !coordsNear(g[i], w[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// A duplicate or NULL key fails the way it does in the sqlite format, and
// a column called fid moves the feature id column aside.
func TestGPKGKeys(t *testing.T) {
	schema := &record.Schema{Columns: []record.Column{
		{Name: "FID", Kind: record.Int}, {Name: "fid_1", Kind: record.Text}, {Name: "g", Kind: record.Geometry},
	}}
	opts := Options{Dataset: "dups", Schema: schema, KeyColumns: []string{"FID", "fid_1"}, GeometryColumn: "g"}
	pt := geomValue(geom.NewPointFlat(geom.XY, []float64{1, 2}))
	for _, dupAt := range []int{10, 70, 130} { // in a full batch, in the tail, in a later batch
		rows := make([]record.Row, 150)
		for i := range rows {
			rows[i] = record.Row{record.IntValue(int64(1000 + i)), record.TextValue("k"), pt}
		}
		rows[dupAt][0] = record.IntValue(1003)
		if err := writeRows(t, "gpkg", opts, rows); err == nil || !strings.Contains(err.Error(), `dataset dups: duplicate key (FID, fid_1) = (1003, "k")`) {
			t.Errorf("duplicate key at row %d: %v", dupAt, err)
		}
	}
	if err := writeRows(t, "gpkg", opts, []record.Row{{record.IntValue(1), {}, pt}}); err == nil || !strings.Contains(err.Error(), "dataset dups: NULL in key column fid_1") {
		t.Errorf("NULL key: %v", err)
	}

	path := writeAll(t, "gpkg", opts, []record.Row{{record.IntValue(7), record.TextValue("a"), pt}, {record.IntValue(7), record.TextValue("b"), {}}})
	db := openDB(t, path)
	var cols string
	if err := db.QueryRow(`SELECT group_concat(name || ':' || pk, ',') FROM pragma_table_info('dups')`).Scan(&cols); err != nil || cols != "fid_2:1,FID:0,fid_1:0,g:0" {
		t.Errorf("columns %q (%v), want the feature id column fid_2 first", cols, err)
	}
}

func TestGPKGErrors(t *testing.T) {
	schema := &record.Schema{Columns: []record.Column{{Name: "id", Kind: record.Int}, {Name: "g", Kind: record.Geometry}}}
	dir := t.TempDir()
	if _, err := New("gpkg", filepath.Join(dir, "a.gpkg"), Options{Dataset: "a", Schema: schema}); err == nil ||
		!strings.Contains(err.Error(), "dataset a: gpkg needs a geometry column") {
		t.Errorf("no geometry column: %v", err)
	}
	if _, err := New("gpkg", filepath.Join(dir, "b.gpkg"), Options{Dataset: "gpkg_contents", Schema: schema, GeometryColumn: "g"}); err == nil ||
		!strings.Contains(err.Error(), "dataset gpkg_contents: gpkg: table names starting with gpkg_ or sqlite_ are reserved") {
		t.Errorf("reserved name: %v", err)
	}
	// A geometry in an SRID the file cannot hold fails the row, naming the
	// dataset, column and key, as in GeoJSON.
	werr := writeRows(t, "gpkg", Options{Dataset: "c", Schema: schema, KeyColumns: []string{"id"}, GeometryColumn: "g"}, []record.Row{
		{record.IntValue(1), geomValue(geom.NewPointFlat(geom.XY, []float64{1, 2}).SetSRID(4326))},
		{record.IntValue(17), geomValue(geom.NewPointFlat(geom.XY, []float64{987654.3, 123456.7}).SetSRID(2263))},
	})
	want := "dataset c, column g, id=17: geometry has SRID 2263; GeoPackage needs WGS 84 lon/lat (EPSG:4326) and it was not reprojected"
	if werr == nil || werr.Error() != want {
		t.Errorf("SRID 2263:\n got %v\nwant %s", werr, want)
	}
}

// writeRows writes rows in the named format until WriteRow fails, closes
// the writer and returns the first error.
func writeRows(t *testing.T, format string, opts Options, rows []record.Row) error {
	t.Helper()
	w, err := New(format, filepath.Join(t.TempDir(), "out."+format), opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err = w.WriteRow(r); err != nil {
			break
		}
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	} else if cerr == nil || cerr.Error() != err.Error() {
		t.Errorf("Close after %q: %v, want the same error", err, cerr)
	}
	return err
}

// A dataset without rows, or whose geometries are all NULL, has NULL
// bounds, and GDAL reads it without a warning.
func TestGPKGNoGeometry(t *testing.T) {
	schema := &record.Schema{Columns: []record.Column{{Name: "id", Kind: record.Int}, {Name: "g", Kind: record.Geometry}}}
	opts := Options{Dataset: "empty", Schema: schema, GeometryColumn: "g"}
	for _, rows := range [][]record.Row{nil, {{record.IntValue(1), {}}}} {
		path := writeAll(t, "gpkg", opts, rows)
		db := openDB(t, path)
		var n int
		var minX, maxY sql.NullFloat64
		if err := db.QueryRow(`SELECT (SELECT count(*) FROM empty), min_x, max_y FROM gpkg_contents`).Scan(&n, &minX, &maxY); err != nil ||
			n != len(rows) || minX.Valid || maxY.Valid {
			t.Errorf("%d rows: count %d, bounds %v %v, %v", len(rows), n, minX, maxY, err)
		}
		if _, err := exec.LookPath("ogrinfo"); err == nil {
			if out := string(runGDAL(t, "ogrinfo", "-ro", "-al", "-so", path)); !strings.Contains(out, fmt.Sprintf("Feature Count: %d", len(rows))) {
				t.Errorf("ogrinfo:\n%s", out)
			}
		}
	}
}

// A zone-less timestamp column is TEXT in a GeoPackage; a SQLite source
// may still hand a value with a zone (it decides per value), which keeps
// its canonical text, the csv's, not a DATETIME's milliseconds.
func TestGPKGTimestampTextColumn(t *testing.T) {
	schema := &record.Schema{Columns: []record.Column{{Name: "id", Kind: record.Int}, {Name: "ts", Kind: record.Timestamp}, {Name: "g", Kind: record.Geometry}}}
	at := time.Date(2025, 4, 11, 10, 0, 0, 123456000, time.UTC)
	path := writeAll(t, "gpkg", Options{Dataset: "t", Schema: schema, GeometryColumn: "g"}, []record.Row{
		{record.IntValue(1), record.TimestampValue(at), {}},
		{record.IntValue(2), record.TimestampTZValue(at), {}},
	})
	db := openDB(t, path)
	var decl, a, b string
	if err := db.QueryRow(`SELECT (SELECT type FROM pragma_table_info('t') WHERE name = 'ts'),
		(SELECT '' || ts FROM t WHERE id = 1), (SELECT '' || ts FROM t WHERE id = 2)`).Scan(&decl, &a, &b); err != nil {
		t.Fatal(err)
	}
	if decl != "TEXT" || a != "2025-04-11T10:00:00.123456" || b != "2025-04-11T10:00:00.123456Z" {
		t.Errorf("declared %s, values %q %q; want TEXT, the csv's text", decl, a, b)
	}
}
