package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/record"
	"github.com/countydatasync/countysync/internal/source"
	"github.com/countydatasync/countysync/internal/source/sourcetest"
)

type logBuffer struct{ bytes.Buffer }

func newLog() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// build creates a database file with the statements and opens it.
func build(t testing.TB, stmts ...string) (*Source, string, *logBuffer) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "county.db")
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	log, buf := newLog()
	src, err := Open(context.Background(), path, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = src.Close() })
	return src, path, buf
}

// wkbPolygon is the little-endian WKB of POLYGON((0 0,1 0,1 1,0 0)).
func wkbPolygon() []byte {
	b := []byte{1}
	b = binary.LittleEndian.AppendUint32(b, 3)
	b = binary.LittleEndian.AppendUint32(b, 1)
	b = binary.LittleEndian.AppendUint32(b, 4)
	for _, c := range []float64{0, 0, 1, 0, 1, 1, 0, 0} {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c))
	}
	return b
}

func TestValues(t *testing.T) {
	poly := wkbPolygon()
	src, _, logs := build(t,
		`CREATE TABLE things (
			id INTEGER PRIMARY KEY,
			i INT, big BIGINT, r REAL, f FLOAT, dbl DOUBLE PRECISION,
			n NUMERIC, dec DECIMAL(10,2), nt NUMERIC_TEXT,
			b BOOLEAN, bl BOOL,
			d DATE, dt DATETIME, ts TIMESTAMP, tstz TIMESTAMPTZ,
			j JSON, bin BLOB,
			g GEOMETRY, poly POLYGON, mp MULTIPOLYGON,
			t TEXT, vc VARCHAR(20), u UUID)`,
		fmt.Sprintf(`INSERT INTO things VALUES (1,
			42, 9223372036854775807, 1.5, 0.1, -2.5e-10,
			12, '12.50', '12345678901234567890.0123456789',
			1, 'true',
			'2025-04-11', '2025-04-11 14:30:42.123456', '2025-04-11T14:30:42.5+05:30', '2025-04-11T09:00:00Z',
			'{"a": [1, 2]}', x'00ff',
			'POINT(1 2)', x'%x', 'MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((5 5,6 5,6 6,5 5)))',
			'quote " comma , newline
 tab	end', 'Zürich — 北京 🚀', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')`, poly),
		`INSERT INTO things (id) VALUES (2)`,
		`INSERT INTO things (id, i, r, n, nt, b, bl, d, dt, ts, j, vc, t, g, dec) VALUES (3,
			'abc', 'xyz', 0.1, 'abc', 2, 'maybe',
			'2025-13-45', 'not a date', '2025-04-11T14:30:42Z', '{bad json', '', CAST(x'61ff62' AS TEXT), x'0101000000000000000000f03f0000000000000040', 1e25)`,
		`INSERT INTO things (id, d, dt, ts, j, b, n) VALUES (4, '2025-04-11 10:00', 1700000000, '2025-04-11', 5, 0, -7)`,
	)
	schema, rows := sourcetest.Collect(t, src, "SELECT * FROM things ORDER BY id;", nil)

	wantKinds := map[string]record.Kind{
		"id": record.Int, "i": record.Int, "big": record.Int, "r": record.Float, "f": record.Float, "dbl": record.Float,
		"n": record.Numeric, "dec": record.Numeric, "nt": record.Numeric, "b": record.Bool, "bl": record.Bool,
		"d": record.Date, "dt": record.Timestamp, "ts": record.Timestamp, "tstz": record.TimestampTZ,
		"j": record.JSON, "bin": record.Bytes, "g": record.Geometry, "poly": record.Geometry, "mp": record.Geometry,
		"t": record.Text, "vc": record.Text, "u": record.Text,
	}
	for _, c := range schema.Columns {
		if c.Kind != wantKinds[c.Name] {
			t.Errorf("column %s (%s): kind %v, want %v", c.Name, c.SourceType, c.Kind, wantKinds[c.Name])
		}
	}
	if c := schema.Columns[schema.Index("dec")]; c.SourceType != "DECIMAL(10,2)" {
		t.Errorf("SourceType %q", c.SourceType)
	}
	utc := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UTC()
	}
	want := map[int64]map[string]record.Value{
		1: {
			"i": record.IntValue(42), "big": record.IntValue(math.MaxInt64), "r": record.FloatValue(1.5),
			"f": record.FloatValue(0.1), "dbl": record.FloatValue(-2.5e-10),
			"n": record.NumericValue("12"), "dec": record.NumericValue("12.5"),
			"nt": record.NumericValue("12345678901234567890.0123456789"),
			"b":  record.BoolValue(true), "bl": record.BoolValue(true),
			"d":    {Kind: record.Date, T: utc("2025-04-11T00:00:00Z")},
			"dt":   {Kind: record.Timestamp, T: utc("2025-04-11T14:30:42.123456Z")},
			"ts":   {Kind: record.TimestampTZ, T: utc("2025-04-11T09:00:42.5Z")},
			"tstz": {Kind: record.TimestampTZ, T: utc("2025-04-11T09:00:00Z")},
			"j":    {Kind: record.JSON, S: `{"a": [1, 2]}`},
			"bin":  record.BytesValue([]byte{0, 0xff}),
			"g":    {Kind: record.Geometry, S: "POINT(1 2)"},
			"poly": {Kind: record.Geometry, B: poly},
			"mp":   {Kind: record.Geometry, S: "MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((5 5,6 5,6 6,5 5)))"},
			"t":    record.TextValue("quote \" comma , newline\n tab\tend"),
			"vc":   record.TextValue("Zürich — 北京 🚀"),
			"u":    record.TextValue("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
		},
		3: {
			"i": record.TextValue("abc"), "r": record.TextValue("xyz"), "n": record.NumericValue("0.1"),
			"nt": record.TextValue("abc"), "b": record.IntValue(2), "bl": record.TextValue("maybe"),
			"d": record.TextValue("2025-13-45"), "dt": record.TextValue("not a date"),
			"ts": {Kind: record.TimestampTZ, T: utc("2025-04-11T14:30:42Z")},
			"j":  record.TextValue("{bad json"), "vc": record.TextValue(""), "t": record.TextValue("a\uFFFDb"),
			"g":   {Kind: record.Geometry, B: []byte{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0x40}},
			"dec": record.NumericValue("1e+25"),
		},
		4: {
			"d":  record.TextValue("2025-04-11 10:00"),
			"dt": record.IntValue(1700000000),
			"ts": {Kind: record.Timestamp, T: utc("2025-04-11T00:00:00Z")},
			"j":  {Kind: record.JSON, S: "5"},
			"b":  record.BoolValue(false),
			"n":  record.NumericValue("-7"),
		},
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows", len(rows))
	}
	for _, row := range rows {
		for col, w := range want[row[0].I] {
			if got := row[schema.Index(col)]; !sourcetest.Equal(got, w) {
				t.Errorf("row %d column %s: got %s, want %s", row[0].I, col, sourcetest.Describe(got), sourcetest.Describe(w))
			}
		}
	}
	for i, v := range rows[1][1:] {
		if v.Kind != record.Null {
			t.Errorf("row 2 column %s: %s, want NULL", schema.Columns[i+1].Name, sourcetest.Describe(v))
		}
	}
	if l := logs.String(); !strings.Contains(l, "invalid UTF-8") || !strings.Contains(l, "column=t values=1") || strings.Count(l, "invalid UTF-8") != 1 {
		t.Errorf("want one warning for column t, 1 value: %s", l)
	}
}

// TestDriverTimeConversionAvoided shows what go-sqlite3 does on its own
// with DATETIME and BOOLEAN columns, and that the driver reads the stored
// values instead.
func TestDriverTimeConversionAvoided(t *testing.T) {
	src, path, _ := build(t,
		`CREATE TABLE t (dt DATETIME, d DATE, ts TIMESTAMP, b BOOLEAN)`,
		`INSERT INTO t VALUES ('2025-04-11T14:30:42+02:00', 'soon', 1700000000, 1)`,
		`INSERT INTO t VALUES ('garbage', '2025-04-11', '2025-04-11 14:30:42.000001', 0)`,
	)
	// go-sqlite3 directly: the offset is dropped and garbage becomes the zero time.
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var raw1, raw2 any
	if err := db.QueryRow("SELECT dt FROM t WHERE rowid = 1").Scan(&raw1); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("SELECT dt FROM t WHERE rowid = 2").Scan(&raw2); err != nil {
		t.Fatal(err)
	}
	tm1, ok1 := raw1.(time.Time)
	tm2, ok2 := raw2.(time.Time)
	if !ok1 || !ok2 || !tm2.IsZero() || tm1.UTC().Hour() == 12 {
		t.Logf("go-sqlite3 no longer converts DATETIME text (%#v, %#v); the workaround is harmless", raw1, raw2)
	}

	// Through the driver, with and without a filter, selected by name or *.
	for _, q := range []string{"SELECT * FROM t", "SELECT dt, d, ts, b FROM t", "SELECT t.* FROM t JOIN (SELECT 1) ON 1"} {
		for _, f := range []*source.Filter{nil, {Column: "dt"}} {
			schema, rows := sourcetest.Collect(t, src, q, f)
			if len(rows) != 2 {
				t.Fatalf("%q: %d rows", q, len(rows))
			}
			var got []string
			for _, row := range rows {
				for _, v := range row {
					got = append(got, sourcetest.Describe(v))
				}
			}
			want := []string{
				"timestamptz(2025-04-11T12:30:42Z)", `text("soon")`, "integer(1700000000)", "boolean(1)",
				`text("garbage")`, "date(2025-04-11T00:00:00Z)", "timestamp(2025-04-11T14:30:42.000001Z)", "boolean(0)",
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("%q filter %v:\n got %v\nwant %v", q, f != nil, got, want)
			}
			if schema.Columns[0].SourceType != "DATETIME" || schema.Columns[3].Kind != record.Bool {
				t.Errorf("schema %+v", schema.Columns)
			}
		}
	}
}

func TestExpressionsByStorageClass(t *testing.T) {
	src, _, _ := build(t, `CREATE TABLE t (a INTEGER)`, `INSERT INTO t VALUES (1), (2)`)
	schema, rows := sourcetest.Collect(t, src, "SELECT a, a+1 AS two, a*1.5 AS three, 'x'||a AS xy, x'00' AS bb, NULL AS nada, a AS a FROM t", nil)
	wantKinds := []record.Kind{record.Int, record.Int, record.Float, record.Text, record.Bytes, record.Text, record.Int}
	for i, c := range schema.Columns {
		if c.Kind != wantKinds[i] || (i > 0 && i < 6 && c.SourceType != "") {
			t.Errorf("column %d %s: kind %v type %q, want %v", i, c.Name, c.Kind, c.SourceType, wantKinds[i])
		}
	}
	if n := schema.Names(); n[6] != "a:1" {
		t.Errorf("duplicate column names: %q (want SQLite's unique a:1)", n)
	}
	if got := sourcetest.Describe(rows[1][2]); got != "float(3)" {
		t.Errorf("a*1.5 = %s", got)
	}
	if got := sourcetest.Describe(rows[0][3]); got != `text("x1")` {
		t.Errorf("xy = %s", got)
	}
	// An empty result still has a schema.
	schema, rows = sourcetest.Collect(t, src, "SELECT a, 'x' AS s FROM t WHERE a > 10", nil)
	if len(rows) != 0 || len(schema.Columns) != 2 || schema.Columns[0].Kind != record.Int {
		t.Errorf("empty result: %+v %v", schema.Columns, rows)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.db")
	_, err := Open(context.Background(), missing, nil)
	if !errors.Is(err, source.ErrUnreachable) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("Open created %s", missing)
	}
	if _, err := Open(context.Background(), dir, nil); !errors.Is(err, source.ErrUnreachable) {
		t.Errorf("directory: %v", err)
	}
	notDB := filepath.Join(dir, "notes.db")
	if err := os.WriteFile(notDB, bytes.Repeat([]byte("this is not a database\n"), 100), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), notDB, nil); !errors.Is(err, source.ErrUnreachable) || !strings.Contains(err.Error(), notDB) {
		t.Errorf("not a database: %v", err)
	}
	// Odd characters in the path.
	odd := filepath.Join(dir, "a?b#c%d.db")
	db, err := sql.Open("sqlite3", "file:"+escapePath(odd))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE x (a)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	src, err := Open(context.Background(), odd, nil)
	if err != nil {
		t.Fatalf("odd path: %v", err)
	}
	src.Close()
}

func TestQueryErrorsAndReadOnly(t *testing.T) {
	src, _, _ := build(t, `CREATE TABLE t (a INTEGER)`)
	// The query is read as a subquery, so only a SELECT runs.
	_, err := src.Query(context.Background(), "DELETE FROM t", nil)
	if !errors.Is(err, source.ErrQuery) || !strings.Contains(err.Error(), "one SELECT statement") {
		t.Errorf("DELETE: %v, want an ErrQuery asking for one SELECT", err)
	}
	// The connection refuses writes even for statements SQLite would run
	// (the authorizer first; mode=ro and query_only behind it).
	if _, err := src.db.Exec("INSERT INTO t VALUES (1)"); err == nil || !strings.Contains(err.Error(), "not authorized") {
		t.Errorf("write through a read-only source: %v", err)
	}
}

func ids(rows []record.Row) string {
	var out []string
	for _, r := range rows {
		out = append(out, fmt.Sprint(r[0].I))
	}
	return strings.Join(out, ",")
}

// TestFilterStoredText covers what the conformance suite cannot: cursor
// values SQLite keeps as text in mixed ISO 8601 layouts and offsets,
// dates, reals and unparsable text. The >= semantics, NULL policies and
// quoted identifiers are in sourcetest.
func TestFilterStoredText(t *testing.T) {
	src, _, _ := build(t,
		`CREATE TABLE events (id INTEGER, ts DATETIME, d DATE, x REAL)`,
		`INSERT INTO events VALUES
			(1, '2025-01-01 00:00:00.000001', '2025-01-01', 1.5),
			(2, '2025-01-01T05:30:00.000002+05:30', '2025-01-02', 2.5),
			(3, '2025-01-01T00:00:00.000002Z', '2025-01-02', 2.5),
			(4, '2025-01-01 00:00:00.000003', '2025-01-03', 3.5),
			(5, NULL, NULL, NULL),
			(6, '2024-12-31T23:59:59.999999Z', '2024-12-31', 0.5),
			(7, '2024-12-31T20:00:00.000002-04:00', '2025-01-02', 2.5),
			(8, '2024-12-31 23:59:59', '2024-12-30', 0)`,
	)
	boundary := time.Date(2025, 1, 1, 0, 0, 0, 2000, time.UTC)
	q := "SELECT * FROM events ORDER BY id"
	cases := []struct {
		name string
		f    source.Filter
		want string
	}{
		{"tstz include, mixed layouts and offsets", source.Filter{Column: "ts", Min: record.TimestampTZValue(boundary), Nulls: source.NullInclude}, "2,3,4,5,7"},
		{"tstz given in -09:00", source.Filter{Column: "ts", Min: record.Value{Kind: record.TimestampTZ, T: boundary.In(time.FixedZone("x", -9*3600))}, Nulls: source.NullSkip}, "2,3,4,7"},
		{"timestamp µs above the tie", source.Filter{Column: "ts", Min: record.TimestampValue(boundary.Add(time.Microsecond)), Nulls: source.NullSkip}, "4"},
		{"date", source.Filter{Column: "d", Min: record.DateValue(time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)), Nulls: source.NullSkip}, "2,3,4,7"},
		{"real", source.Filter{Column: "x", Min: record.FloatValue(2.5), Nulls: source.NullSkip}, "2,3,4,7"},
		{"numeric on real", source.Filter{Column: "x", Min: record.NumericValue("2.50"), Nulls: source.NullSkip}, "2,3,4,7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := c.f
			_, rows := sourcetest.Collect(t, src, q, &f)
			if got := ids(rows); got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}
	t.Run("unparsable cursor text is kept", func(t *testing.T) {
		src2, _, _ := build(t, `CREATE TABLE e (id INTEGER, ts DATETIME)`,
			`INSERT INTO e VALUES (1, '2025-01-01T00:00:00Z'), (2, 'garbage'), (3, '2020-01-01T00:00:00Z')`)
		_, rows := sourcetest.Collect(t, src2, "SELECT * FROM e", &source.Filter{Column: "ts", Min: record.TimestampTZValue(boundary)})
		if got := ids(rows); got != "2" {
			t.Errorf("got %s", got)
		}
	})
}

func TestStreamingMemory(t *testing.T) {
	src, _, _ := build(t, `CREATE TABLE t (a)`)
	const n = 200_000
	rows, err := src.Query(context.Background(), fmt.Sprintf(
		`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < %d) SELECT x, printf('%%.400c', 'x') || x AS payload FROM c`, n), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base, peak, count := ms.HeapAlloc, uint64(0), 0
	for rows.Next() {
		count++
		if count%20_000 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	if rows.Err() != nil || count != n {
		t.Fatalf("%d rows, %v", count, rows.Err())
	}
	if peak > base+16<<20 {
		t.Errorf("heap grew from %d to %d", base, peak)
	}
}
