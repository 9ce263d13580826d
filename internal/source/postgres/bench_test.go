package postgres

import (
	"context"
	"runtime"
	"testing"

	"github.com/countydatasync/countysync/internal/testsvc"
)

// BenchmarkPostgresScan reads 100,000 parcel-like rows (text, numeric,
// timestamptz and a 13-vertex polygon) per iteration and reports rows/s
// and allocations per row.
func BenchmarkPostgresScan(b *testing.B) {
	const n = 100_000
	url := testsvc.PG(b)
	testsvc.PGExec(b, url, `CREATE TABLE parcels (
			id bigint PRIMARY KEY, parcel_no text, owner text, address text, land_use text,
			acres numeric(12,4), assessed numeric(14,2), year_built int, updated_at timestamptz,
			geom geometry(Polygon, 4326))`,
		`INSERT INTO parcels
		SELECT g, 'P-' || lpad(g::text, 8, '0'), 'Owner ' || g, g || ' Main St', (ARRAY['RES','COM','AGR'])[1 + g % 3],
			(g % 1000) / 7.0, g * 13.37, 1900 + g % 120, '2025-01-01'::timestamptz + g * interval '1 second',
			ST_SetSRID(ST_MakePolygon(ST_MakeLine(p.pts || p.pts[1])), 4326)
		FROM generate_series(1, 100000) g,
		LATERAL (SELECT array_agg(ST_MakePoint(-93 + (g % 1000) * 0.001 + 0.0004 * cos(radians(k * 30)),
			45 + (g / 1000) * 0.001 + 0.0004 * sin(radians(k * 30))) ORDER BY k) AS pts
			FROM generate_series(0, 11) k) p`,
		`ANALYZE parcels`)
	ctx := context.Background()
	src, err := Open(ctx, url, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rows, err := src.Query(ctx, "SELECT * FROM parcels", nil)
		if err != nil {
			b.Fatal(err)
		}
		count := 0
		for rows.Next() {
			if count == 0 && len(rows.Row()[9].B) != 9+4+4+13*16 {
				b.Fatalf("polygon EWKB has %d bytes", len(rows.Row()[9].B))
			}
			count++
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		rows.Close()
		if count != n {
			b.Fatalf("%d rows", count)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	total := float64(n) * float64(b.N)
	b.ReportMetric(total/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/total, "allocs/row")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/total, "B/row")
}
