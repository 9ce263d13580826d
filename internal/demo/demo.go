package demo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/countydatasync/countysync/internal/source/sqlite"
)

// Files names what Write creates in its directory.
const (
	DatabaseFile = "county-demo.sqlite"
	ConfigFile   = "countysync.demo.yaml"
)

// Parcels and Permits are the demo's row counts.
const (
	Parcels = 250
	Permits = 400
)

// Config is the demo's config; relative paths resolve against its folder.
const Config = `# CountyDataSync demo config: two datasets from a SQLite county database.
source:
  url: sqlite://` + DatabaseFile + `
storage:
  url: file://./exports
formats: [sqlite, csv, json, geojson]
datasets:
  - name: parcels
    query: SELECT * FROM parcels
    key_columns: [id]
    geometry: {column: geom, srid: 4326}   # EPSG code of the WKT (it carries none)
    incremental: {column: updated_at, lookback: 5m}
  - name: permits
    query: >-
      SELECT p.id, p.permit_no, p.parcel_id, p.kind, p.status, p.fee,
             p.issued_on, p.inspected_at, p.description, p.contractor
      FROM permits p ORDER BY p.id
    key_columns: [id]
    transformations:
      status: "upper(value)"
      fee: "round(value, 2)"
      contractor: "value == nil ? nil : trim(value)"
`

// Write creates the demo database and config in dir and returns the
// config's path.
func Write(ctx context.Context, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("demo directory: %w", err)
	}
	if err := sqlite.CreateDatabase(ctx, filepath.Join(dir, DatabaseFile), Script()); err != nil {
		return "", err
	}
	cfg := filepath.Join(dir, ConfigFile)
	if err := os.WriteFile(cfg, []byte(Config), 0o644); err != nil {
		return "", fmt.Errorf("demo config: %w", err)
	}
	return cfg, nil
}

// Script returns the SQL that builds the demo database. It is
// deterministic: the same rows every time.
func Script() string {
	r := rand.New(rand.NewPCG(2025, 4))
	var b strings.Builder
	b.WriteString(`CREATE TABLE parcels (
  id INTEGER PRIMARY KEY,
  parcel_no TEXT NOT NULL,
  owner TEXT,
  address TEXT,
  land_use TEXT,
  assessed_value DECIMAL(14,2),
  area_sqft REAL,
  year_built INTEGER,
  tax_exempt BOOLEAN,
  last_sale DATE,
  notes TEXT,
  updated_at DATETIME,
  geom TEXT
);
`)
	owners := []string{"Smith, John", `O'Brien "Bud" Family Trust`, "Nguyễn Văn An", "Müller & Söhne LLC",
		"García-López, María José", "County of Example", "北京房产有限公司", "", "Jones\nEstate"}
	uses := []string{"RESIDENTIAL", "COMMERCIAL", "AGRICULTURAL", "INDUSTRIAL", "EXEMPT"}
	streets := []string{"Main St", "Oak Ave", "Elm St, Unit 4", "County Road 12", "Rue de l'Église"}
	base := time.Date(2025, 4, 11, 14, 30, 42, 0, time.UTC)
	for id := 1; id <= Parcels; id++ {
		lon := -77.50 + float64(id%25)*0.004
		lat := 38.80 + float64(id/25)*0.004
		geom := polygon(r, lon, lat)
		switch id {
		case 7:
			geom = polygonWithHole(lon, lat)
		case 8:
			geom = multiPolygon(lon, lat)
		case 9:
			geom = clockwise(lon, lat)
		case 10:
			geom = "POLYGON EMPTY"
		case 11:
			geom = "POLYGON((-77.5 38.8, -77.49 38.8, -77.49"
		}
		owner := owners[r.IntN(len(owners))]
		ownerSQL := quote(owner)
		if id%37 == 0 {
			ownerSQL = "NULL"
		}
		year := "NULL"
		if id%6 != 0 {
			year = fmt.Sprint(1900 + r.IntN(125))
		}
		notes := "NULL"
		switch id % 5 {
		case 1:
			notes = quote(`Driveway "shared", see plat 12;` + "\n" + "second line\tafter tab")
		case 2:
			notes = "''"
		case 3:
			notes = quote("Ünïcödé ✓ — 测试")
		}
		offsets := []string{"Z", "-04:00", "+05:30", "-07:00"}
		upd := base.Add(time.Duration(id) * 37 * time.Minute).Add(time.Duration(r.IntN(1e6)) * time.Microsecond)
		loc := offsets[id%len(offsets)]
		fmt.Fprintf(&b, "INSERT INTO parcels VALUES (%d, %s, %s, %s, %s, '%d.%02d', %s, %s, %d, '%s', %s, %s, %s);\n",
			id,
			quote(fmt.Sprintf("%03d-%04d-%02d", id/100, id, id%7)),
			ownerSQL,
			quote(fmt.Sprintf("%d %s", 100+r.IntN(9800), streets[r.IntN(len(streets))])),
			quote(uses[r.IntN(len(uses))]),
			50000+r.IntN(2000000), r.IntN(100),
			fmt.Sprint(math.Round(r.Float64()*400000)/10),
			year,
			boolInt(id%9 == 0),
			base.AddDate(0, 0, -r.IntN(9000)).Format("2006-01-02"),
			notes,
			quote(formatOffset(upd, loc)),
			quote(geom))
	}
	b.WriteString(`CREATE TABLE permits (
  id INTEGER PRIMARY KEY,
  permit_no TEXT NOT NULL,
  parcel_id INTEGER REFERENCES parcels(id),
  kind TEXT,
  status TEXT,
  fee DECIMAL(10,3),
  issued_on DATE,
  inspected_at TIMESTAMP,
  description TEXT,
  contractor TEXT
);
`)
	kinds := []string{"building", "electrical", "plumbing", "demolition", "zoning variance"}
	statuses := []string{"issued", "pending", "closed", "void"}
	for id := 1; id <= Permits; id++ {
		desc := "NULL"
		switch id % 6 {
		case 0:
			desc = "''"
		case 1:
			desc = quote(`Replace roof, "like for like"`)
		case 2:
			desc = quote("Line 1\nLine 2, with comma")
		case 3:
			desc = quote("Café terrace — façade ✓")
		case 4:
			desc = quote(`\.`)
		}
		inspected := "NULL"
		if id%3 != 0 {
			inspected = quote(base.Add(time.Duration(id)*time.Hour + 123456*time.Microsecond).Format("2006-01-02 15:04:05.000000"))
		}
		contractor := "NULL"
		if id%4 != 0 {
			contractor = quote(fmt.Sprintf("  Contractor %d, Inc.  ", id%17))
		}
		fmt.Fprintf(&b, "INSERT INTO permits VALUES (%d, %s, %d, %s, %s, '%d.%03d', '%s', %s, %s, %s);\n",
			id, quote(fmt.Sprintf("BP-2025-%05d", id)), 1+r.IntN(Parcels),
			quote(kinds[r.IntN(len(kinds))]), quote(statuses[r.IntN(len(statuses))]),
			25+r.IntN(5000), r.IntN(1000),
			base.AddDate(0, 0, -r.IntN(700)).Format("2006-01-02"),
			inspected, desc, contractor)
	}
	return b.String()
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func formatOffset(t time.Time, off string) string {
	if off == "Z" {
		return t.Format("2006-01-02 15:04:05.999999") + "Z"
	}
	d, _ := time.Parse("-07:00", off)
	_, secs := d.Zone()
	return t.In(time.FixedZone("", secs)).Format("2006-01-02 15:04:05.999999-07:00")
}

// polygon returns a closed counter-clockwise ring of about 13 vertices
// around (lon, lat), like a parcel outline.
func polygon(r *rand.Rand, lon, lat float64) string {
	const n = 12
	pts := make([]string, 0, n+1)
	for i := 0; i < n; i++ {
		a := 2 * math.Pi * float64(i) / n
		rad := 0.0012 + r.Float64()*0.0004
		pts = append(pts, fmt.Sprintf("%.7f %.7f", lon+rad*math.Cos(a), lat+rad*math.Sin(a)))
	}
	pts = append(pts, pts[0])
	return "POLYGON((" + strings.Join(pts, ", ") + "))"
}

func square(lon, lat, h float64, cw bool) string {
	p := [][2]float64{{lon - h, lat - h}, {lon + h, lat - h}, {lon + h, lat + h}, {lon - h, lat + h}, {lon - h, lat - h}}
	if cw {
		for i, j := 0, len(p)-1; i < j; i, j = i+1, j-1 {
			p[i], p[j] = p[j], p[i]
		}
	}
	s := make([]string, len(p))
	for i, c := range p {
		s[i] = fmt.Sprintf("%.7f %.7f", c[0], c[1])
	}
	return "(" + strings.Join(s, ", ") + ")"
}

func polygonWithHole(lon, lat float64) string {
	return "POLYGON(" + square(lon, lat, 0.0015, false) + ", " + square(lon, lat, 0.0005, false) + ")"
}

func multiPolygon(lon, lat float64) string {
	return "MULTIPOLYGON((" + square(lon-0.0008, lat, 0.0005, false) + "), (" + square(lon+0.0008, lat, 0.0005, true) + "))"
}

func clockwise(lon, lat float64) string {
	return "POLYGON(" + square(lon, lat, 0.0015, true) + ")"
}
