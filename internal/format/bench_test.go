package format

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/twpayne/go-geom"

	"github.com/countydatasync/countysync/internal/record"
)

const benchRows = 10000

var parcelSchema = &record.Schema{Columns: []record.Column{
	{Name: "id", Kind: record.Int}, {Name: "parcel_number", Kind: record.Text}, {Name: "owner", Kind: record.Text},
	{Name: "address", Kind: record.Text}, {Name: "land_use", Kind: record.Text},
	{Name: "assessed_value", Kind: record.Numeric, SourceType: "numeric(12,2)"}, {Name: "area", Kind: record.Float},
	{Name: "year_built", Kind: record.Int}, {Name: "homestead", Kind: record.Bool}, {Name: "sale_date", Kind: record.Date},
	{Name: "remarks", Kind: record.Text}, {Name: "updated_at", Kind: record.TimestampTZ}, {Name: "geom", Kind: record.Geometry},
}}

// parcelRows returns n parcel-like rows, each with a 13-vertex polygon.
func parcelRows(n int) []record.Row {
	rows := make([]record.Row, n)
	base := time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC)
	for i := range rows {
		ring := make([]geom.Coord, 13)
		cx, cy := -93.2+float64(i%100)*0.001, 44.9+float64(i/100)*0.001
		for k := 0; k < 12; k++ {
			a := 2 * math.Pi * float64(k) / 12
			ring[k] = geom.Coord{cx + 0.0004*math.Cos(a), cy + 0.0003*math.Sin(a)}
		}
		ring[12] = ring[0]
		year := record.IntValue(int64(1900 + i%120))
		if i%10 == 0 {
			year = record.Value{}
		}
		rows[i] = record.Row{
			record.IntValue(int64(i + 1)),
			record.TextValue(fmt.Sprintf("27-%03d-%04d", i%1000, i)),
			record.TextValue(fmt.Sprintf("Owner %d, Jane & John", i)),
			record.TextValue(fmt.Sprintf("%d Main St", 100+i)),
			record.TextValue("RESIDENTIAL"),
			record.NumericValue(fmt.Sprintf("%d.%02d", 100000+i*37, i%100)),
			record.FloatValue(1234.5678 + float64(i)/7),
			year,
			record.BoolValue(i%2 == 0),
			record.DateValue(base.AddDate(0, 0, i%3650)),
			record.TextValue("Note with \"quotes\",\nand a second line"),
			record.TimestampTZValue(base.Add(time.Duration(i) * 1234567 * time.Microsecond)),
			geomValue(poly(ring)),
		}
	}
	return rows
}

func benchmarkFormat(b *testing.B, format string) {
	rows := parcelRows(benchRows)
	opts := Options{Dataset: "parcels", Schema: parcelSchema, KeyColumns: []string{"id"}, GeometryColumn: "geom"}
	dir := b.TempDir()
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		w, err := New(format, filepath.Join(dir, fmt.Sprint("out", n, ".", format)), opts)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range rows {
			if err := w.WriteRow(r); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchRows), "ns/row")
}

func BenchmarkCSV(b *testing.B)     { benchmarkFormat(b, "csv") }
func BenchmarkJSON(b *testing.B)    { benchmarkFormat(b, "json") }
func BenchmarkGeoJSON(b *testing.B) { benchmarkFormat(b, "geojson") }
func BenchmarkSQLite(b *testing.B)  { benchmarkFormat(b, "sqlite") }
func BenchmarkGPKG(b *testing.B)    { benchmarkFormat(b, "gpkg") }

// TestAllocsPerRow measures the steady-state allocations of WriteRow.
func TestAllocsPerRow(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	rows := parcelRows(1000)
	opts := Options{Dataset: "parcels", Schema: parcelSchema, KeyColumns: []string{"id"}, GeometryColumn: "geom"}
	for _, format := range []string{"csv", "json", "geojson", "sqlite", "gpkg"} {
		w, err := New(format, filepath.Join(t.TempDir(), "a."+format), opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows[:200] { // warm up buffers
			w.WriteRow(r)
		}
		i := 200
		allocs := testing.AllocsPerRun(640, func() {
			if err := w.WriteRow(rows[i%len(rows)]); err != nil {
				t.Fatal(err)
			}
			i++
		})
		w.Close()
		t.Logf("%s: %.2f allocs/row", format, allocs)
		limit := 0.0
		switch format {
		case "sqlite":
			limit = 12 // go-sqlite3 boxes each bound value in an interface
		case "gpkg":
			limit = 12 + 8 // and go-geom's WKB writer allocates per part it writes
		}
		if allocs > limit {
			t.Errorf("%s: %.2f allocs/row, want <= %v", format, allocs, limit)
		}
	}
}

// BenchmarkSQLiteSingleRowInsert is BenchmarkSQLite with one row per
// INSERT, to compare with the multi-row statement.
func BenchmarkSQLiteSingleRowInsert(b *testing.B) {
	defer func(n int) { sqliteBatchRows = n }(sqliteBatchRows)
	sqliteBatchRows = 1
	benchmarkFormat(b, "sqlite")
}
