package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/countydatasync/countysync/internal/record"
	"github.com/countydatasync/countysync/internal/source"
	"github.com/countydatasync/countysync/internal/source/sourcetest"
	"github.com/countydatasync/countysync/internal/testsvc"
)

// testLog sends driver logs to the test log.
func testLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// openTest creates a fresh database, runs setup statements and opens it.
func openTest(t testing.TB, setup ...string) (*Source, string) {
	t.Helper()
	url := testsvc.PG(t)
	if len(setup) > 0 {
		testsvc.PGExec(t, url, setup...)
	}
	src, err := Open(ctxT(t), url, testLog(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = src.Close() })
	return src, url
}

const everythingSetup = `
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE TABLE everything (
	id int PRIMARY KEY,
	t text, vc varchar(40), bp char(5),
	i2 smallint, i4 int, i8 bigint,
	f4 real, f8 double precision,
	n numeric(30,10), nn numeric,
	b boolean,
	d date, ts timestamp, tstz timestamptz,
	u uuid, j json, jb jsonb, by bytea,
	ai int[], at text[], an numeric[], ats timestamptz[], a2 int[][], ad date[], aj jsonb[],
	iv interval, tm time, ip inet, mo money, e mood, ae mood[], dom posint,
	g geometry, gg geography
);
INSERT INTO everything VALUES (
	1,
	E'quote " comma , newline \n tab \t backslash \\ end', 'Zürich — 北京 🚀', 'ab',
	-32768, 2147483647, -9223372036854775808,
	0.1, 'NaN',
	1.5, 'NaN',
	true,
	'2025-04-11', '2025-04-11 14:30:42.123456', '2025-04-11 14:30:42.123456+05:30',
	'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '{"b": 1,  "a": [1, 2]}', '{"b": 1, "a": [1, 2]}', '\x00ff10',
	'{1,NULL,3}', ARRAY['a,b', NULL, 'q"x', '', 'NULL', 'back\slash'], '{1.50,NULL,NaN,-0.001}',
	ARRAY['2025-01-01 00:00:00.5+02'::timestamptz, NULL], '{{1,2},{3,4}}', '{2025-04-11,infinity}', ARRAY['{"k": [1, 2]}'::jsonb, 'null'::jsonb],
	'1 day 02:03:04.5', '13:45:00.25', '192.168.0.1/24', 12.34, 'happy', '{sad,happy,NULL}', 7,
	'SRID=4326;POLYGON((0 0,10 0,10 10,0 10,0 0),(2 2,2 4,4 4,4 2,2 2))', 'SRID=4326;POINT(-122.3 47.6)'
);
INSERT INTO everything (id) VALUES (2);
INSERT INTO everything (id, t, vc, bp, f4, f8, n, nn, b, d, ts, tstz, by, ai, at, i8, g, j, jb) VALUES (
	3, '', '', '', '-Infinity', 'Infinity', -12345678901234567890.0123456789, 0.000001, false,
	'infinity', '-infinity', 'infinity', '', '{}', '{}', 9223372036854775807,
	'MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((5 5,6 5,6 6,5 5)))', '"just a string"', '[]'
);
INSERT INTO everything (id, d, ts, tstz, f8, n, g) VALUES
	(4, '1969-07-20', '1900-01-01 00:00:00.000001', '1999-12-31 23:59:59.999999-08', '-0', 0, 'SRID=4326;POINT EMPTY'),
	(5, '-infinity', 'infinity', '-infinity', 1e300, 100, 'SRID=4326;POINT(1.5 2.25)');
`

func TestEveryType(t *testing.T) {
	src, url := openTest(t, everythingSetup)
	schema, rows := sourcetest.Collect(t, src, "SELECT * FROM everything ORDER BY id;", nil)

	wantSchema := map[string]struct {
		kind record.Kind
		typ  string
	}{
		"id": {record.Int, "int4"}, "t": {record.Text, "text"}, "vc": {record.Text, "varchar"}, "bp": {record.Text, "bpchar"},
		"i2": {record.Int, "int2"}, "i4": {record.Int, "int4"}, "i8": {record.Int, "int8"},
		"f4": {record.Float, "float4"}, "f8": {record.Float, "float8"},
		"n": {record.Numeric, "numeric(30,10)"}, "nn": {record.Numeric, "numeric"}, "b": {record.Bool, "bool"},
		"d": {record.Date, "date"}, "ts": {record.Timestamp, "timestamp"}, "tstz": {record.TimestampTZ, "timestamptz"},
		"u": {record.UUID, "uuid"}, "j": {record.JSON, "json"}, "jb": {record.JSON, "jsonb"}, "by": {record.Bytes, "bytea"},
		"ai": {record.Array, "int4[]"}, "at": {record.Array, "text[]"}, "an": {record.Array, "numeric[]"},
		"ats": {record.Array, "timestamptz[]"}, "a2": {record.Array, "int4[]"}, "ad": {record.Array, "date[]"}, "aj": {record.Array, "jsonb[]"},
		"iv": {record.Text, "interval"}, "tm": {record.Text, "time"}, "ip": {record.Text, "inet"}, "mo": {record.Text, "money"},
		"e": {record.Text, "mood"}, "ae": {record.Array, "mood[]"}, "dom": {record.Int, "int4"}, // PostgreSQL describes domains by their base type
		"g": {record.Geometry, "geometry"}, "gg": {record.Geometry, "geography"},
	}
	if len(schema.Columns) != len(wantSchema) {
		t.Fatalf("schema has %d columns, want %d: %v", len(schema.Columns), len(wantSchema), schema.Names())
	}
	for _, c := range schema.Columns {
		w, ok := wantSchema[c.Name]
		if !ok || c.Kind != w.kind || c.SourceType != w.typ {
			t.Errorf("column %s: kind %v type %q, want %v %q", c.Name, c.Kind, c.SourceType, w.kind, w.typ)
		}
	}
	if len(rows) != 5 {
		t.Fatalf("got %d rows, want 5", len(rows))
	}

	utc := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UTC()
	}
	// Values written by hand, per row id and column.
	want := map[int]map[string]record.Value{
		1: {
			"t":    record.TextValue("quote \" comma , newline \n tab \t backslash \\ end"),
			"vc":   record.TextValue("Zürich — 北京 🚀"),
			"bp":   record.TextValue("ab   "),
			"i2":   record.IntValue(-32768),
			"i4":   record.IntValue(2147483647),
			"i8":   record.IntValue(math.MinInt64),
			"f4":   record.FloatValue(0.1),
			"f8":   record.FloatValue(math.NaN()),
			"n":    record.NumericValue("1.5000000000"),
			"nn":   record.NumericValue("NaN"),
			"b":    record.BoolValue(true),
			"d":    {Kind: record.Date, T: utc("2025-04-11T00:00:00Z")},
			"ts":   {Kind: record.Timestamp, T: utc("2025-04-11T14:30:42.123456Z")},
			"tstz": {Kind: record.TimestampTZ, T: utc("2025-04-11T09:00:42.123456Z")},
			"u":    {Kind: record.UUID, S: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
			"j":    {Kind: record.JSON, S: `{"b": 1,  "a": [1, 2]}`},
			"jb":   {Kind: record.JSON, S: `{"a": [1, 2], "b": 1}`},
			"by":   record.BytesValue([]byte{0x00, 0xff, 0x10}),
			"ai":   {Kind: record.Array, S: `[1,null,3]`},
			"at":   {Kind: record.Array, S: `["a,b",null,"q\"x","","NULL","back\\slash"]`},
			"an":   {Kind: record.Array, S: `[1.50,null,"NaN",-0.001]`},
			"ats":  {Kind: record.Array, S: `["2024-12-31T22:00:00.5Z",null]`},
			"a2":   {Kind: record.Array, S: `[[1,2],[3,4]]`},
			"ad":   {Kind: record.Array, S: `["2025-04-11","infinity"]`},
			"aj":   {Kind: record.Array, S: `[{"k": [1, 2]},null]`},
			"iv":   record.TextValue("1 day 02:03:04.5"),
			"tm":   record.TextValue("13:45:00.25"),
			"ip":   record.TextValue("192.168.0.1/24"),
			"mo":   record.TextValue("$12.34"),
			"e":    record.TextValue("happy"),
			"ae":   {Kind: record.Array, S: `["sad","happy",null]`},
			"dom":  record.IntValue(7),
		},
		3: {
			"t":    record.TextValue(""),
			"vc":   record.TextValue(""),
			"bp":   record.TextValue("     "),
			"f4":   record.FloatValue(math.Inf(-1)),
			"f8":   record.FloatValue(math.Inf(1)),
			"n":    record.NumericValue("-12345678901234567890.0123456789"),
			"nn":   record.NumericValue("0.000001"),
			"b":    record.BoolValue(false),
			"d":    {Kind: record.Date, S: "infinity"},
			"ts":   {Kind: record.Timestamp, S: "-infinity"},
			"tstz": {Kind: record.TimestampTZ, S: "infinity"},
			"by":   record.BytesValue([]byte{}),
			"ai":   {Kind: record.Array, S: `[]`},
			"at":   {Kind: record.Array, S: `[]`},
			"i8":   record.IntValue(math.MaxInt64),
			"j":    {Kind: record.JSON, S: `"just a string"`},
			"jb":   {Kind: record.JSON, S: `[]`},
			"u":    {},
			"e":    {},
		},
		4: {
			"d":    {Kind: record.Date, T: utc("1969-07-20T00:00:00Z")},
			"ts":   {Kind: record.Timestamp, T: utc("1900-01-01T00:00:00.000001Z")},
			"tstz": {Kind: record.TimestampTZ, T: utc("2000-01-01T07:59:59.999999Z")},
			"f8":   record.FloatValue(math.Copysign(0, -1)),
			"n":    record.NumericValue("0.0000000000"),
		},
		5: {
			"d":    {Kind: record.Date, S: "-infinity"},
			"ts":   {Kind: record.Timestamp, S: "infinity"},
			"tstz": {Kind: record.TimestampTZ, S: "-infinity"},
			"f8":   record.FloatValue(1e300),
			"n":    record.NumericValue("100.0000000000"),
		},
	}
	for _, row := range rows {
		id := int(row[0].I)
		for col, w := range want[id] {
			got := row[schema.Index(col)]
			if !sourcetest.Equal(got, w) {
				t.Errorf("row %d column %s: got %s, want %s", id, col, sourcetest.Describe(got), sourcetest.Describe(w))
			}
		}
	}
	// Row 2 is NULL everywhere but id; row 3 keeps '' distinct from NULL.
	for i, v := range rows[1][1:] {
		if v.Kind != record.Null {
			t.Errorf("row 2 column %s: got %s, want NULL", schema.Columns[i+1].Name, sourcetest.Describe(v))
		}
	}
	// Every Array value is valid JSON.
	for _, row := range rows {
		for i, v := range row {
			if v.Kind == record.Array || v.Kind == record.JSON {
				if !json.Valid([]byte(v.S)) {
					t.Errorf("row %d column %s: invalid JSON %q", row[0].I, schema.Columns[i].Name, v.S)
				}
			}
		}
	}

	// Independent expectations computed by PostgreSQL itself.
	ctx := ctxT(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	check, err := conn.Query(ctx, `SELECT id,
		to_char(tstz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		to_char(ts, 'YYYY-MM-DD"T"HH24:MI:SS.US'),
		n::text, nn::text, ST_AsEWKB(g), ST_AsEWKB(gg::geometry), encode(by, 'hex'), u::text
		FROM everything ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	byID := map[int64]record.Row{}
	for _, r := range rows {
		byID[r[0].I] = r
	}
	ix := schema.Index
	for check.Next() {
		var id int64
		var tstz, ts, n, nn, byHex, u *string
		var g, gg []byte
		if err := check.Scan(&id, &tstz, &ts, &n, &nn, &g, &gg, &byHex, &u); err != nil {
			t.Fatal(err)
		}
		row := byID[id]
		if v := row[ix("tstz")]; tstz != nil && v.S == "" && v.T.Format("2006-01-02T15:04:05.000000Z") != *tstz {
			t.Errorf("row %d tstz: got %s, PostgreSQL says %s", id, v.T.Format(time.RFC3339Nano), *tstz)
		}
		if v := row[ix("ts")]; ts != nil && v.S == "" && v.T.Format("2006-01-02T15:04:05.000000") != *ts {
			t.Errorf("row %d ts: got %s, PostgreSQL says %s", id, v.T.Format(time.RFC3339Nano), *ts)
		}
		for _, c := range []struct {
			col  string
			want *string
		}{{"n", n}, {"nn", nn}, {"u", u}} {
			v := row[ix(c.col)]
			if (c.want == nil) != (v.Kind == record.Null) || (c.want != nil && v.S != *c.want) {
				t.Errorf("row %d %s: got %s, PostgreSQL says %v", id, c.col, sourcetest.Describe(v), c.want)
			}
		}
		if v := row[ix("by")]; byHex != nil && fmt.Sprintf("%x", v.B) != *byHex {
			t.Errorf("row %d by: got %x, PostgreSQL says %s", id, v.B, *byHex)
		}
		for _, c := range []struct {
			col  string
			want []byte
		}{{"g", g}, {"gg", gg}} {
			v := row[ix(c.col)]
			if (c.want == nil) != (v.Kind == record.Null) || !bytes.Equal(v.B, c.want) {
				t.Errorf("row %d %s: got %x, ST_AsEWKB says %x", id, c.col, v.B, c.want)
			}
		}
	}
	if err := check.Err(); err != nil {
		t.Fatal(err)
	}
	if got := rows[0][ix("g")]; got.Kind != record.Geometry || len(got.B) < 9 || got.B[4]&0x20 == 0 {
		t.Errorf("geometry with SRID should be EWKB with the SRID flag: %x", got.B)
	}
}

// TestArrayElementsMatchScalars checks that array elements use the same
// mapping as scalar columns, against PostgreSQL's own casts.
func TestArrayElementsMatchScalars(t *testing.T) {
	src, _ := openTest(t)
	_, rows := sourcetest.Collect(t, src, `SELECT
		ARRAY[1.5::numeric(10,3), 12345678901234567890.000000000001, -0.5, 'Infinity'] AS an,
		ARRAY[0.1::float4, 'NaN'] AS af4,
		ARRAY[1e300::float8, '-Infinity'] AS af8,
		ARRAY['2025-04-11 14:30:42.000001'::timestamp] AS ats,
		ARRAY[true, NULL, false] AS ab,
		ARRAY['\x0102'::bytea] AS aby,
		ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid] AS au,
		ARRAY['1 day'::interval, NULL] AS aiv,
		'[0:1]={7,8}'::int[] AS lb,
		ARRAY[ARRAY['x','y'],ARRAY['z',NULL]] AS a2t,
		ARRAY['(1,2),(3,4)'::box, '(0,0),(1,1)'::box] AS abox,
		ARRAY['SRID=4326;POINT(1 2)'::geometry] AS ag`, nil)
	want := []string{
		`[1.500,12345678901234567890.000000000001,-0.5,"Infinity"]`,
		`[0.1,"NaN"]`,
		`[1e+300,"-Infinity"]`,
		`["2025-04-11T14:30:42.000001"]`,
		`[true,null,false]`,
		`["AQI="]`,
		`["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]`,
		`["1 day",null]`,
		`[7,8]`,
		`[["x","y"],["z",null]]`,
		`["(3,4),(1,2)","(1,1),(0,0)"]`,
		`["0101000020E6100000000000000000F03F0000000000000040"]`,
	}
	for i, w := range want {
		if got := rows[0][i]; got.Kind != record.Array || got.S != w {
			t.Errorf("column %d: got %s, want %s", i, sourcetest.Describe(got), w)
		}
	}
}

func TestSnapshotTransaction(t *testing.T) {
	src, _ := openTest(t)
	_, rows := sourcetest.Collect(t, src, "SELECT current_setting('transaction_isolation') AS iso, current_setting('transaction_read_only') AS ro, current_setting('statement_timeout') AS st", nil)
	if got := rows[0][0].S + "/" + rows[0][1].S + "/" + rows[0][2].S; got != "repeatable read/on/0" {
		t.Errorf("transaction settings: %s", got)
	}
	rs, err := src.Query(ctxT(t), "CREATE TABLE x (a int)", nil)
	if err == nil {
		for rs.Next() {
		}
		err = rs.Err()
		rs.Close()
	}
	if !errors.Is(err, source.ErrQuery) || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("write in a read-only transaction: %v", err)
	}
}

const eventsSetup = `
CREATE TABLE events (id int, d date, k bigint, n numeric(20,10), u uuid);
INSERT INTO events VALUES
	(1, '2025-01-01', 10, 1.0000000001, '00000000-0000-0000-0000-000000000001'),
	(2, '2025-01-02', 20, 1.0000000002, '00000000-0000-0000-0000-000000000002'),
	(3, '2025-01-02', 20, 1.0000000002, '00000000-0000-0000-0000-000000000003'),
	(4, '2025-01-03', 30, 1.0000000003, '00000000-0000-0000-0000-000000000004'),
	(5, NULL, NULL, NULL, NULL),
	(6, '2024-12-31', 5, 0.9999999999, '00000000-0000-0000-0000-000000000000'),
	(7, 'infinity', NULL, NULL, NULL);
`

func ids(rows []record.Row) string {
	var out []string
	for _, r := range rows {
		out = append(out, fmt.Sprint(r[0].I))
	}
	return strings.Join(out, ",")
}

// TestFilterPostgresTypes covers cursor types beyond the conformance
// suite's: dates with infinities, uuid, a numeric with a declared scale, and
// error positions inside the wrapper. The >= semantics, NULL policies and
// quoted identifiers are in sourcetest.
func TestFilterPostgresTypes(t *testing.T) {
	src, _ := openTest(t, eventsSetup)
	q := "SELECT * FROM events ORDER BY id"
	cases := []struct {
		name string
		f    source.Filter
		want string
	}{
		{"date", source.Filter{Column: "d", Min: record.DateValue(time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)), Nulls: source.NullSkip}, "2,3,4,7"},
		{"date -infinity", source.Filter{Column: "d", Min: record.Value{Kind: record.Date, S: "-infinity"}, Nulls: source.NullSkip}, "1,2,3,4,6,7"},
		{"date infinity", source.Filter{Column: "d", Min: record.Value{Kind: record.Date, S: "infinity"}, Nulls: source.NullInclude}, "5,7"},
		{"numeric(20,10) at full precision", source.Filter{Column: "n", Min: record.NumericValue("1.0000000002"), Nulls: source.NullSkip}, "2,3,4"},
		{"uuid", source.Filter{Column: "u", Min: record.Value{Kind: record.UUID, S: "00000000-0000-0000-0000-000000000003"}, Nulls: source.NullSkip}, "3,4"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := c.f
			_, rows := sourcetest.Collect(t, src, q, &f)
			if got := sortedIDs(rows); got != c.want {
				t.Errorf("got ids %s, want %s", got, c.want)
			}
		})
	}
}

func sortedIDs(rows []record.Row) string {
	seen := make([]bool, 100)
	for _, r := range rows {
		seen[r[0].I] = true
	}
	var out []string
	for i, ok := range seen {
		if ok {
			out = append(out, fmt.Sprint(i))
		}
	}
	if len(out) != len(rows) {
		return "duplicates:" + ids(rows)
	}
	return strings.Join(out, ",")
}

func TestQueryErrors(t *testing.T) {
	src, url := openTest(t, "CREATE TABLE secret_stuff (a int)")
	cases := []struct {
		query string
		want  []string
	}{
		{"SELEC 1", []string{"syntax error", "line 1, column 1", "42601"}},
		{"SELECT a,\n  b FROM secret_stuff", []string{`column "b" does not exist`, "line 2, column 3"}},
		{"SELECT * FROM nope", []string{`relation "nope" does not exist`, "line 1, column 15", "42P01"}},
		{"SELECT 1/0 AS x", []string{"division by zero", "22012"}},
		{"SELECT * FROM secret_stuff WHERE a = $1", []string{"parameters"}},
	}
	for _, c := range cases {
		_, err := src.Query(ctxT(t), c.query, nil)
		t.Logf("%q: %v", c.query, err)
		if !errors.Is(err, source.ErrQuery) {
			t.Errorf("%q: error %v does not wrap ErrQuery", c.query, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q does not contain %q", c.query, err, w)
			}
		}
	}
	_, err := src.Query(ctxT(t), "SELECT * FROM nope", nil)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42P01" {
		t.Errorf("errors.As PgError: %v", err)
	}
	// The same position is reported inside the incremental wrapper.
	_, err = src.Query(ctxT(t), "SELECT * FROM nope", &source.Filter{Column: "a", Min: record.IntValue(1)})
	if err == nil || !strings.Contains(err.Error(), "line 1, column 15") {
		t.Errorf("wrapped query position: %v", err)
	}

	// Permission denied, as a role without privileges.
	role := testsvc.RandomName("cs_noperm_")
	testsvc.PGExec(t, url, "CREATE ROLE "+role+" LOGIN", "REVOKE ALL ON secret_stuff FROM PUBLIC")
	t.Cleanup(func() { testsvc.PGExec(t, url, "DROP OWNED BY "+role, "DROP ROLE "+role) })
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	roleURL := fmt.Sprintf("postgres://%s:pw-%s@%s:%d/%s?sslmode=disable", role, role, cfg.Host, cfg.Port, cfg.Database)
	limited, err := Open(ctxT(t), roleURL, testLog(t))
	if err != nil {
		t.Fatalf("open as %s: %v", role, err)
	}
	defer limited.Close()
	_, err = limited.Query(ctxT(t), "SELECT * FROM secret_stuff", nil)
	if !errors.Is(err, source.ErrQuery) || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("permission: %v", err)
	}
	if strings.Contains(err.Error(), "pw-"+role) {
		t.Errorf("password in error: %v", err)
	}
}

func TestUnreachableAndPasswords(t *testing.T) {
	ctx := ctxT(t)
	const pw = "S3cr3t-Pa55"
	for _, u := range []string{
		"postgres://county:" + pw + "@127.0.0.1:1/county?sslmode=disable",
		"postgres://county:" + pw + "@127.0.0.1:1/county?sslmode=disable&connect_timeout=2",
		"host=127.0.0.1 port=1 user=county password=" + pw + " dbname=county sslmode=disable",
		"host=127.0.0.1 port=1 user=county password='" + pw + "' dbname=county sslmode=disable",
		"postgres://county@127.0.0.1:1/county?password=" + pw + "&sslmode=disable",
	} {
		_, err := Open(ctx, u, nil)
		t.Logf("%v", err)
		if !errors.Is(err, source.ErrUnreachable) {
			t.Errorf("%s: error %v does not wrap ErrUnreachable", redactURL(u, nil), err)
		}
		if err != nil && strings.Contains(err.Error(), pw) {
			t.Errorf("password in error: %v", err)
		}
	}
	// URLs that do not parse must not echo the password either.
	for _, u := range []string{
		"postgres://county:" + pw + "%zz@127.0.0.1:5432/county",
		"postgres://county:" + pw + "@127.0.0.1:notaport/county",
		"host=127.0.0.1 port=x password=" + pw,
	} {
		_, err := Open(ctx, u, nil)
		if err == nil {
			t.Errorf("%s: want an error", redactURL(u, nil))
			continue
		}
		if strings.Contains(err.Error(), pw) || strings.Contains(err.Error(), "S3cr3t") {
			t.Errorf("password in error: %v", err)
		}
	}
	// A live server, the password in the URL (trust auth ignores it): query
	// errors must not contain it either.
	url := testsvc.PG(t)
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	withPW := fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", cfg.User, pw, cfg.Host, cfg.Port, cfg.Database)
	src, err := Open(ctx, withPW, nil)
	if err != nil {
		if strings.Contains(err.Error(), pw) {
			t.Fatalf("password in error: %v", err)
		}
		t.Skipf("server rejects the test password: %v", err)
	}
	defer src.Close()
	if strings.Contains(src.String(), pw) {
		t.Errorf("password in String(): %s", src)
	}
	for _, q := range []string{"SELECT '" + pw + "' FROM nope", "SELEC '" + pw + "'"} {
		_, err := src.Query(ctx, q, nil)
		if err == nil || strings.Contains(err.Error(), pw) {
			t.Errorf("query error %v", err)
		}
	}
}

func TestStreamingMemory(t *testing.T) {
	src, _ := openTest(t)
	const n = 200_000
	rows, err := src.Query(ctxT(t), fmt.Sprintf(
		"SELECT g AS id, repeat('x', 400) || g AS payload, now() AS at, g::numeric / 7 AS ratio FROM generate_series(1, %d) g", n), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak uint64
	count := 0
	for rows.Next() {
		count++
		if count%20_000 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if count != n {
		t.Fatalf("got %d rows, want %d", count, n)
	}
	// Buffering the result would take > 80 MB; allow 16 MB of growth.
	if peak > base+16<<20 {
		t.Errorf("heap grew from %d to %d bytes while streaming %d rows", base, peak, n)
	}
	t.Logf("heap: base %d KiB, peak %d KiB", base>>10, peak>>10)
}

func TestEarlyCloseAndCancel(t *testing.T) {
	src, _ := openTest(t)
	ctx := ctxT(t)
	big := "SELECT g FROM generate_series(1, 5000000) g"
	rows, err := src.Query(ctx, big, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := 0; i < 10 && rows.Next(); i++ {
	}
	rows.Close()
	rows.Close()
	if rows.Next() || rows.Err() != nil {
		t.Errorf("after Close: Next true or Err %v", rows.Err())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v: it drained the result", d)
	}
	// The source still works.
	_, got := sourcetest.Collect(t, src, "SELECT 42 AS answer", nil)
	if got[0][0].I != 42 {
		t.Fatalf("after early close: %v", got)
	}
	// Canceling the context ends iteration with the context's error.
	cctx, cancel := context.WithCancel(ctx)
	rows, err = src.Query(cctx, big, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows.Next()
	cancel()
	for rows.Next() {
	}
	if err := rows.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("after cancel: %v", err)
	}
	rows.Close()
	_, got = sourcetest.Collect(t, src, "SELECT 43 AS answer", nil)
	if got[0][0].I != 43 {
		t.Fatalf("after cancel: %v", got)
	}
}

func TestConcurrentQueries(t *testing.T) {
	src, _ := openTest(t, eventsSetup)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rows, err := src.Query(ctxT(t), "SELECT * FROM events", &source.Filter{Column: "k", Min: record.IntValue(20), Nulls: source.NullSkip})
			if err != nil {
				errs <- err
				return
			}
			defer rows.Close()
			n := 0
			for rows.Next() {
				n++
			}
			if rows.Err() != nil || n != 3 {
				errs <- fmt.Errorf("n=%d err=%v", n, rows.Err())
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestAppendNumeric(t *testing.T) {
	// Binary numerics, checked against PostgreSQL's text output.
	src, _ := openTest(t)
	_, rows := sourcetest.Collect(t, src, `SELECT x::text AS txt, ARRAY[x] AS arr FROM (VALUES
		(0::numeric), (0.00::numeric), (-1::numeric), (10000::numeric), (0.0001::numeric), (123456789.987654321::numeric),
		(1e-20::numeric), (1e20::numeric), (-0.5::numeric(5,3)), ('NaN'::numeric), (99999999::numeric), (100000000.000001::numeric)) v(x)`, nil)
	for _, r := range rows {
		want := r[0].S
		if want != "NaN" {
			want = "[" + want + "]"
		} else {
			want = `["NaN"]`
		}
		if r[1].S != want {
			t.Errorf("numeric %s: array element %s", r[0].S, r[1].S)
		}
	}
}
