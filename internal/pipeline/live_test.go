package pipeline_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/testsvc"
)

// pgRows returns query's rows from PostgreSQL as text (NULL as ""), the
// independent side of the comparisons below.
func pgRows(t *testing.T, url, query string) [][]string {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = v.String
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// csvRows reads the latest CSV of dataset: its header and rows.
func csvRows(t *testing.T, exports, dataset string) ([]string, [][]string) {
	t.Helper()
	recs := readCSV(t, filepath.Join(exports, dataset+".csv"))
	return recs[0], recs[1:]
}

func sortedRows(rows [][]string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = strings.Join(r, "|")
	}
	slices.Sort(out)
	return out
}

func sameRows(t *testing.T, what string, got, want [][]string) {
	t.Helper()
	g, w := sortedRows(got), sortedRows(want)
	if !slices.Equal(g, w) {
		t.Fatalf("%s:\nfiles  %q\nsource %q", what, g, w)
	}
}

func dataset(rep *pipeline.Report, name string) *pipeline.DatasetResult {
	for _, d := range rep.Datasets {
		if d.Name == name {
			return d
		}
	}
	return nil
}

func pgEnv(t *testing.T, datasets string) (*pipeline.Env, string, string) {
	t.Helper()
	url := testsvc.PG(t)
	dir := t.TempDir()
	env := newEnv(t, dir, `source: {url: "`+url+`"}`+"\ndatasets:\n"+datasets)
	return env, url, filepath.Join(dir, "exports")
}

// TestSchemaEvolve: columns added, renamed and retyped between incremental
// runs make the next run full (schema: evolve, the default), the report
// says which and why, and every row has real values in the new columns.
func TestSchemaEvolve(t *testing.T) {
	env, url, exports := pgEnv(t, `  - name: items
    query: SELECT * FROM items
    key_columns: [id]
    incremental: {column: updated_at}
    formats: [csv, sqlite]
`)
	testsvc.PGExec(t, url, `CREATE TABLE items (id int PRIMARY KEY, name text, code text, updated_at timestamptz NOT NULL DEFAULT now())`,
		`INSERT INTO items (id, name, code, updated_at) SELECT g, 'n' || g, g::text, '2025-01-01' FROM generate_series(1, 20) g`)
	mustRun(t, env, pipeline.Options{})
	testsvc.PGExec(t, url, `ALTER TABLE items ADD COLUMN zone text NOT NULL DEFAULT 'R1'`,
		`ALTER TABLE items RENAME COLUMN name TO label`,
		`ALTER TABLE items ALTER COLUMN code TYPE int USING code::int`,
		`UPDATE items SET zone = 'C' || id WHERE id % 3 = 0`) // updated_at unchanged: only a full run sees these
	rep := mustRun(t, env, pipeline.Options{})
	d := dataset(rep, "items")
	if d.Mode != pipeline.ModeFull || !strings.Contains(d.FullReason, "schema") {
		t.Fatalf("mode %s, full_reason %q", d.Mode, d.FullReason)
	}
	changes := strings.Join(d.SchemaChanges, "; ")
	for _, want := range []string{"column name renamed to label", "column code changed from text to integer", "column zone (text) added"} {
		if !strings.Contains(changes, want) {
			t.Errorf("schema_changes %q lack %q", changes, want)
		}
	}
	header, got := csvRows(t, exports, "items")
	if strings.Join(header, ",") != "id,label,code,updated_at,zone" {
		t.Fatalf("header %v", header)
	}
	want := pgRows(t, url, `SELECT id, label, code, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), zone FROM items`)
	sameRows(t, "after the schema change", got, want)
	// The next run is incremental again.
	if d := dataset(mustRun(t, env, pipeline.Options{}), "items"); d.Mode != pipeline.ModeIncremental || d.FullReason != "" {
		t.Fatalf("third run: mode %s, reason %q", d.Mode, d.FullReason)
	}
}

// TestSchemaFreeze: under schema: freeze a changed query fails the
// dataset, listing the differences, and leaves the watermark.
func TestSchemaFreeze(t *testing.T) {
	env, url, _ := pgEnv(t, `  - name: items
    query: SELECT * FROM items
    key_columns: [id]
    schema: freeze
    incremental: {column: updated_at}
    formats: [csv]
`)
	testsvc.PGExec(t, url, `CREATE TABLE items (id int PRIMARY KEY, name text, updated_at timestamptz NOT NULL DEFAULT now())`,
		`INSERT INTO items (id, name) VALUES (1, 'a')`)
	mustRun(t, env, pipeline.Options{})
	before, _ := env.State.Get(context.Background(), "items")
	testsvc.PGExec(t, url, `ALTER TABLE items ADD COLUMN zone text`, `ALTER TABLE items DROP COLUMN name`)
	rep, err := pipeline.Run(context.Background(), env, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := dataset(rep, "items")
	if rep.Success || !strings.Contains(d.Error, "schema: freeze") || !strings.Contains(d.Error, "column name (text) dropped") ||
		!strings.Contains(d.Error, "column zone (text) added") {
		t.Fatalf("success %v, error %q", rep.Success, d.Error)
	}
	after, _ := env.State.Get(context.Background(), "items")
	if before.JobID != after.JobID {
		t.Fatalf("watermark moved from %s to %s", before.JobID, after.JobID)
	}
	if d := dataset(mustRun(t, env, pipeline.Options{Full: true}), "items"); d.FullReason != "--full" {
		t.Fatalf("--full run: reason %q", d.FullReason)
	}
}

// TestHardDeletes: incremental.deletes: keys removes hard-deleted rows and
// the old key of a changed key; the files equal the table (red-team D8).
func TestHardDeletes(t *testing.T) {
	env, url, exports := pgEnv(t, `  - name: items
    query: SELECT id, apn, name, updated_at FROM items
    key_columns: [apn, id]
    incremental: {column: updated_at, deletes: keys}
    formats: [csv, json, sqlite]
`)
	testsvc.PGExec(t, url, `CREATE TABLE items (id int, apn text COLLATE "en-x-icu", name text, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (apn, id))`,
		`INSERT INTO items (id, apn, name, updated_at) SELECT g, chr(65 + g % 3) || (CASE WHEN g % 2 = 0 THEN 'a' ELSE 'B' END), 'n' || g, '2025-01-01' FROM generate_series(1, 300) g`)
	mustRun(t, env, pipeline.Options{})
	testsvc.PGExec(t, url, `DELETE FROM items WHERE id % 7 = 0`,
		`UPDATE items SET id = id + 1000, updated_at = '2025-01-02' WHERE id % 11 = 0`, // a changed key, cursor moved
		`INSERT INTO items (id, apn, name, updated_at) VALUES (5000, 'Zz', 'new', '2025-01-02')`)
	rep := mustRun(t, env, pipeline.Options{})
	d := dataset(rep, "items")
	gone := pgRows(t, url, `SELECT count(*) FROM generate_series(1, 300) g WHERE g % 7 = 0 OR g % 11 = 0`)[0][0]
	if d.Mode != pipeline.ModeIncremental || !d.KeysChecked || strings.TrimSpace(gone) != strconv.FormatInt(d.Deleted, 10) {
		t.Fatalf("mode %s, keys_checked %v, deleted %d, want %s", d.Mode, d.KeysChecked, d.Deleted, gone)
	}
	_, got := csvRows(t, exports, "items")
	want := pgRows(t, url, `SELECT id, apn, name, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') FROM items`)
	sameRows(t, "after hard deletes", got, want)
}

// TestHardDeletesEvery: with deletes_every the keys are compared only when
// that long has passed since the last comparison.
func TestHardDeletesEvery(t *testing.T) {
	env, url, exports := pgEnv(t, `  - name: items
    query: SELECT id, name FROM items
    key_columns: [id]
    incremental: {column: id, deletes: keys, deletes_every: 24h}
    formats: [csv]
`)
	testsvc.PGExec(t, url, `CREATE TABLE items (id int PRIMARY KEY, name text)`, `INSERT INTO items VALUES (1, 'a'), (2, 'b'), (3, 'c')`)
	clock := mustParse(t, "2026-01-01T00:00:00Z")
	env.Now = func() time.Time { clock = clock.Add(time.Second); return clock }
	mustRun(t, env, pipeline.Options{})
	testsvc.PGExec(t, url, `DELETE FROM items WHERE id = 2`)
	clock = clock.Add(time.Hour)
	if d := dataset(mustRun(t, env, pipeline.Options{}), "items"); d.KeysChecked || d.Deleted != 0 {
		t.Fatalf("an hour later: keys_checked %v, deleted %d", d.KeysChecked, d.Deleted)
	}
	clock = clock.Add(24 * time.Hour)
	if d := dataset(mustRun(t, env, pipeline.Options{}), "items"); !d.KeysChecked || d.Deleted != 1 {
		t.Fatalf("a day later: keys_checked %v, deleted %d", d.KeysChecked, d.Deleted)
	}
	_, got := csvRows(t, exports, "items")
	sameRows(t, "a day later", got, pgRows(t, url, `SELECT id, name FROM items`))
}

// TestKeylessKeepsIdenticalRows: a dataset without key_columns publishes
// exactly the source's rows, duplicates included (red-team D4).
func TestKeylessKeepsIdenticalRows(t *testing.T) {
	env, url, exports := pgEnv(t, `  - name: salelog
    query: SELECT day, event, qty FROM rt_log
    incremental: {column: day}
    formats: [csv, sqlite]
`)
	testsvc.PGExec(t, url, `CREATE TABLE rt_log (day date, event text, qty int)`,
		`INSERT INTO rt_log VALUES ('2025-04-11', 'sale', 1), ('2025-04-10', 'sale', 5)`)
	mustRun(t, env, pipeline.Options{})
	testsvc.PGExec(t, url, `INSERT INTO rt_log VALUES ('2025-04-11', 'sale', 1), ('2025-04-11', 'sale', 1), ('2025-04-11', 'refund', 2)`)
	d := dataset(mustRun(t, env, pipeline.Options{}), "salelog")
	_, got := csvRows(t, exports, "salelog")
	sameRows(t, "after identical new rows", got, pgRows(t, url, `SELECT day::text, event, qty FROM rt_log`))
	if d.Records != 5 || d.Inserted != 3 || d.Unchanged != 1 {
		t.Fatalf("records %d inserted %d unchanged %d; want 5, 3, 1", d.Records, d.Inserted, d.Unchanged)
	}
	// A row at the boundary deleted from the source leaves the files too.
	testsvc.PGExec(t, url, `DELETE FROM rt_log WHERE event = 'refund'`)
	mustRun(t, env, pipeline.Options{})
	_, got = csvRows(t, exports, "salelog")
	sameRows(t, "after a delete at the boundary", got, pgRows(t, url, `SELECT day::text, event, qty FROM rt_log`))
}

// TestIncrementalDuplicateKeyFails: a duplicate key read by an incremental
// run fails the dataset naming the key, as a full run does (red-team D6).
func TestIncrementalDuplicateKeyFails(t *testing.T) {
	env, url, _ := pgEnv(t, `  - name: items
    query: SELECT id, name, updated_at FROM items
    key_columns: [id]
    incremental: {column: updated_at}
    formats: [csv]
`)
	testsvc.PGExec(t, url, `CREATE TABLE items (id int, name text, updated_at timestamptz NOT NULL)`,
		`INSERT INTO items VALUES (1, 'v1', '2025-01-01'), (3, 'v3', '2025-01-01')`)
	mustRun(t, env, pipeline.Options{})
	testsvc.PGExec(t, url, `INSERT INTO items VALUES (3, 'dup-a', '2025-01-02'), (3, 'dup-b', '2025-01-02')`)
	for _, opts := range []pipeline.Options{{}, {Full: true}} {
		rep, err := pipeline.Run(context.Background(), env, opts)
		if err != nil {
			t.Fatal(err)
		}
		if d := dataset(rep, "items"); rep.Success || !strings.Contains(d.Error, "duplicate key id=3") {
			t.Fatalf("full=%v: success %v, error %q", opts.Full, rep.Success, d.Error)
		}
	}
}

// TestNumericKeyScale: a numeric key whose scale changes (1.0 → 1.00) is
// the same row (red-team D7).
func TestNumericKeyScale(t *testing.T) {
	env, url, exports := pgEnv(t, `  - name: codes
    query: SELECT code, val, updated_at FROM codes
    key_columns: [code]
    incremental: {column: updated_at}
    formats: [csv, sqlite]
`)
	testsvc.PGExec(t, url, `CREATE TABLE codes (code numeric PRIMARY KEY, val text, updated_at timestamptz NOT NULL)`,
		`INSERT INTO codes VALUES (1.0, 'a', '2025-01-01'), (2, 'b', '2025-01-01'), (10, 'c', '2025-01-01')`)
	mustRun(t, env, pipeline.Options{})
	testsvc.PGExec(t, url, `UPDATE codes SET code = 1.00, val = 'a2', updated_at = '2025-01-02' WHERE code = 1`)
	d := dataset(mustRun(t, env, pipeline.Options{}), "codes")
	_, got := csvRows(t, exports, "codes")
	want := pgRows(t, url, `SELECT code, val, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') FROM codes`)
	sameRows(t, "after the scale change", got, want)
	if d.Records != 3 || d.Updated != 1 {
		t.Fatalf("records %d, updated %d", d.Records, d.Updated)
	}
}

func mustParse(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
