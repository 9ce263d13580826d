package pipeline_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/testsvc"
)

// liveTable is a PostgreSQL database with one table t (id, val, cursor
// column) and an env whose one incremental dataset "live" reads it.
type liveTable struct {
	url string
	db  *sql.DB
	env *pipeline.Env
}

func newLiveTable(t *testing.T, ddl, incremental string) *liveTable {
	t.Helper()
	url := testsvc.PG(t)
	testsvc.PGExec(t, url, ddl)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	dir := t.TempDir()
	env := newEnv(t, dir, `source: {url: "`+url+`"}
storage: {url: "file://`+filepath.Join(dir, "exports")+`"}
formats: [csv]
datasets:
  - name: live
    query: SELECT * FROM t
    key_columns: [id]
    incremental: `+incremental+"\n")
	return &liveTable{url: url, db: db, env: env}
}

func (lt *liveTable) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := lt.db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// check compares the run's CSV, parsed back, with the table as
// PostgreSQL holds it now.
func (lt *liveTable) check(t *testing.T, rep *pipeline.Report, when string) {
	t.Helper()
	rows, err := lt.db.Query("SELECT id::text, val FROM t ORDER BY t.id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var want []string
	for rows.Next() {
		var id, val string
		if err := rows.Scan(&id, &val); err != nil {
			t.Fatal(err)
		}
		want = append(want, id+"="+val)
	}
	var got []string
	for _, r := range readCSV(t, artifact(t, rep, "live", "csv").Path)[1:] {
		got = append(got, r[0]+"="+r[1])
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("%s: the files hold\n %v\nthe table\n %v", when, got, want)
	}
}

// lateWriter opens a transaction on a connection of its own that stays
// open until commit is called.
func lateWriter(t *testing.T, db *sql.DB, stmt string) (commit func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(stmt); err != nil {
		t.Fatal(err)
	}
	done := false
	t.Cleanup(func() {
		if !done {
			_ = tx.Rollback()
		}
		conn.Close()
	})
	return func() {
		done = true
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		conn.Close()
	}
}

// A row written by a transaction that began before a run and commits after
// it is published by the next run, whatever the cursor's kind and with no
// lookback: the watermark stayed below it (issue 13 item 3, red-team D1
// and D2).
func TestLateCommitIsPublished(t *testing.T) {
	cases := []struct {
		name, ddl, incremental string
		seed, late, early      string
	}{
		{
			name:        "timestamptz set to now()",
			ddl:         `CREATE TABLE t (id int PRIMARY KEY, val text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`,
			incremental: "{column: updated_at}",
			seed:        `INSERT INTO t SELECT g, 'v' || g, now() - interval '1 hour' FROM generate_series(1, 5) g`,
			late:        `UPDATE t SET val = 'A-late', updated_at = now() WHERE id = 1`,
			early:       `UPDATE t SET val = 'B', updated_at = now() WHERE id = 2`,
		},
		{
			name:        "timestamp without time zone set to now()",
			ddl:         `CREATE TABLE t (id int PRIMARY KEY, val text NOT NULL, updated_at timestamp NOT NULL DEFAULT now())`,
			incremental: "{column: updated_at}",
			seed:        `INSERT INTO t SELECT g, 'v' || g, now() - interval '1 hour' FROM generate_series(1, 5) g`,
			late:        `UPDATE t SET val = 'A-late', updated_at = now() WHERE id = 1`,
			early:       `UPDATE t SET val = 'B', updated_at = now() WHERE id = 2`,
		},
		{
			name:        "bigserial id, lookback ignored",
			ddl:         `CREATE TABLE t (id bigserial PRIMARY KEY, val text NOT NULL)`,
			incremental: "{column: id, lookback: 1h}",
			seed:        `INSERT INTO t (val) SELECT 'v' || g FROM generate_series(1, 10) g`,
			late:        `INSERT INTO t (val) VALUES ('late')`,
			early:       `INSERT INTO t (val) VALUES ('early')`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lt := newLiveTable(t, c.ddl, c.incremental)
			lt.exec(t, c.seed)
			rep := mustRun(t, lt.env, pipeline.Options{})
			lt.check(t, rep, "first run")

			commit := lateWriter(t, lt.db, c.late)
			lt.exec(t, c.early)
			rep = mustRun(t, lt.env, pipeline.Options{})
			res := rep.Datasets[0]
			if res.WatermarkCap == nil {
				t.Errorf("run during the open transaction: no watermark_cap in the report (watermark %+v)", res.WatermarkAfter)
			} else {
				t.Logf("cap: read %s, watermark %s: %s", res.WatermarkCap.Read.Value, res.WatermarkAfter.Value, res.WatermarkCap.Reason)
			}
			commit()

			rep = mustRun(t, lt.env, pipeline.Options{})
			lt.check(t, rep, "run after the late commit")
			if res := rep.Datasets[0]; res.WatermarkCap != nil {
				t.Errorf("no transaction open, yet the watermark was capped: %s", res.WatermarkCap.Reason)
			}
		})
	}
}

// The watermark of a run during which no other transaction is open moves
// to the highest cursor read, so later runs read only what changed.
func TestWatermarkAdvancesWhenNothingIsInFlight(t *testing.T) {
	lt := newLiveTable(t, `CREATE TABLE t (id bigserial PRIMARY KEY, val text NOT NULL)`, "{column: id}")
	lt.exec(t, `INSERT INTO t (val) SELECT 'v' || g FROM generate_series(1, 10) g`)
	mustRun(t, lt.env, pipeline.Options{})
	lt.exec(t, `INSERT INTO t (val) VALUES ('x')`)
	rep := mustRun(t, lt.env, pipeline.Options{})
	res := rep.Datasets[0]
	if res.WatermarkAfter == nil || res.WatermarkAfter.Value != "11" || res.RowsRead != 2 {
		t.Errorf("watermark %+v after reading %d rows; want 11 after reading ids 10 and 11", res.WatermarkAfter, res.RowsRead)
	}
	lt.check(t, rep, "second run")
}

// A role that cannot see the other sessions' transactions gets a warning in
// the report: the cap cannot account for them.
func TestHiddenSessionsAreReported(t *testing.T) {
	lt := newLiveTable(t, `CREATE TABLE t (id int PRIMARY KEY, val text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`,
		"{column: updated_at}")
	role := testsvc.RandomName("cs_low_")
	lt.exec(t, "CREATE ROLE "+role+" LOGIN PASSWORD 'pw'")
	t.Cleanup(func() {
		_, _ = lt.db.Exec("DROP OWNED BY " + role)
		_, _ = lt.db.Exec("DROP ROLE IF EXISTS " + role)
	})
	lt.exec(t, "GRANT SELECT ON t TO "+role)
	lt.exec(t, `INSERT INTO t VALUES (1, 'a')`)
	low := strings.Replace(lt.url, "postgres://", "postgres://"+role+":pw@", 1)
	if i := strings.Index(lt.url, "://"); i >= 0 {
		if j := strings.IndexByte(lt.url[i+3:], '@'); j >= 0 {
			low = lt.url[:i+3] + role + ":pw" + lt.url[i+3+j:]
		}
	}
	dir := t.TempDir()
	env := newEnv(t, dir, `source: {url: "`+low+`"}
storage: {url: "file://`+filepath.Join(dir, "exports")+`"}
formats: [csv]
datasets:
  - name: live
    query: SELECT * FROM t
    key_columns: [id]
    incremental: {column: updated_at}
`)
	commit := lateWriter(t, lt.db, `UPDATE t SET val = 'b' WHERE id = 1`)
	defer commit()
	rep := mustRun(t, env, pipeline.Options{})
	if !strings.Contains(strings.Join(rep.Datasets[0].Warnings, "\n"), "pg_read_all_stats") {
		t.Errorf("no warning about sessions the role cannot see: %q", rep.Datasets[0].Warnings)
	}
}
