package pipeline_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/testsvc"
)

// modelRow is the model's view of one source row.
type modelRow struct {
	name    string
	amount  string
	updated time.Time
	deleted bool
}

// model drives random changes into a real table and remembers what the
// table holds, so every published file can be checked against it.
type model struct {
	t      *testing.T
	db     *sql.DB
	rng    *rand.Rand
	ts     func(time.Time) any
	clock  time.Time
	nextID int
	rows   map[int]*modelRow
	lookbk time.Duration
	sqlite bool
}

func (m *model) exec(q string, args ...any) {
	m.t.Helper()
	if _, err := m.db.Exec(q, args...); err != nil {
		m.t.Fatalf("%s: %v", q, err)
	}
}

func (m *model) randomName() string {
	names := []string{"plain", "with, comma", `with "quote"`, "new\nline", "Ünïcödé", "", "tab\there"}
	return names[m.rng.IntN(len(names))] + strconv.Itoa(m.rng.IntN(100))
}

func (m *model) randomAmount() string {
	return fmt.Sprintf("%d.%02d", m.rng.IntN(100000), m.rng.IntN(100))
}

// step applies 1–5 random changes.
func (m *model) step() {
	// The clock advances 0–3 minutes: 0 makes ties on the cursor.
	m.clock = m.clock.Add(time.Duration(m.rng.IntN(4)) * time.Minute).Add(time.Duration(m.rng.IntN(3)) * time.Microsecond)
	for n := 1 + m.rng.IntN(5); n > 0; n-- {
		ids := m.ids()
		switch op := m.rng.IntN(10); {
		case op < 4 || len(ids) == 0: // insert
			m.nextID++
			r := &modelRow{name: m.randomName(), amount: m.randomAmount(), updated: m.clock}
			m.rows[m.nextID] = r
			m.exec(`INSERT INTO items (id, name, amount, updated_at, is_deleted) VALUES ($1, $2, $3, $4, $5)`,
				m.nextID, r.name, r.amount, m.ts(r.updated), false)
		case op < 8: // update, often committed "late": cursor at or below the watermark, within the lookback
			id := ids[m.rng.IntN(len(ids))]
			r := m.rows[id]
			r.name, r.amount = m.randomName(), m.randomAmount()
			r.updated = m.clock.Add(-time.Duration(m.rng.Int64N(int64(m.lookbk) * 9 / 10))).Truncate(time.Microsecond)
			if m.rng.IntN(3) == 0 {
				r.updated = m.clock // a tie with the newest rows
			}
			r.deleted = false // an update may also undelete
			m.exec(`UPDATE items SET name = $1, amount = $2, updated_at = $3, is_deleted = $4 WHERE id = $5`,
				r.name, r.amount, m.ts(r.updated), false, id)
		default: // soft delete
			id := ids[m.rng.IntN(len(ids))]
			r := m.rows[id]
			r.deleted, r.updated = true, m.clock
			m.exec(`UPDATE items SET is_deleted = $1, updated_at = $2 WHERE id = $3`, true, m.ts(r.updated), id)
		}
	}
}

func (m *model) ids() []int {
	out := make([]int, 0, len(m.rows))
	for id := range m.rows {
		out = append(out, id)
	}
	sort.Ints(out)
	return out
}

// live returns the rows every format must show: not deleted, by id.
func (m *model) live() map[string][3]string {
	out := map[string][3]string{}
	for id, r := range m.rows {
		if !r.deleted {
			out[strconv.Itoa(id)] = [3]string{r.name, r.amount, r.updated.UTC().Format(time.RFC3339Nano)}
		}
	}
	return out
}

// check compares every published format (through the latest names) with
// the model.
func (m *model) check(exports string, step int) {
	t := m.t
	t.Helper()
	want := m.live()
	fail := func(format string, got map[string][3]string) {
		t.Helper()
		for id, w := range want {
			if g, ok := got[id]; !ok {
				t.Errorf("step %d, %s: row %s missing (want %q)", step, format, id, w)
			} else if g != w {
				t.Errorf("step %d, %s: row %s = %q, want %q", step, format, id, g, w)
			}
		}
		for id := range got {
			if _, ok := want[id]; !ok {
				t.Errorf("step %d, %s: row %s should not be there", step, format, id)
			}
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	for id, w := range want {
		w[1] = canonAmount(w[1])
		want[id] = w
	}
	norm := func(ts string) string {
		p, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			t.Fatalf("bad timestamp %q", ts)
		}
		return p.UTC().Format(time.RFC3339Nano)
	}
	// CSV
	recs := readCSV(t, filepath.Join(exports, "items.csv"))
	got := map[string][3]string{}
	for _, r := range recs[1:] {
		if _, dup := got[r[0]]; dup {
			t.Fatalf("step %d, csv: row %s twice", step, r[0])
		}
		got[r[0]] = [3]string{r[1], canonAmount(r[2]), norm(r[3])}
	}
	fail("csv", got)
	// JSON
	var rows []map[string]any
	readJSON(t, filepath.Join(exports, "items.json"), &rows)
	got = map[string][3]string{}
	for _, r := range rows {
		got[fmt.Sprint(r["id"])] = [3]string{r["name"].(string), canonAmount(fmt.Sprint(r["amount"])), norm(r["updated_at"].(string))}
	}
	fail("json", got)
	// SQLite
	db := openSQLite(t, filepath.Join(exports, "items.sqlite"))
	q, err := db.Query(`SELECT id, name, CAST(amount AS TEXT), updated_at FROM items_data`)
	if err != nil {
		t.Fatal(err)
	}
	got = map[string][3]string{}
	for q.Next() {
		var id, name, amount, upd string
		q.Scan(&id, &name, &amount, &upd)
		got[id] = [3]string{name, canonAmount(amount), norm(upd)}
	}
	q.Close()
	db.Close()
	fail("sqlite", got)
}

// canonAmount strips trailing fractional zeros: SQLite keeps 12.50 as the
// REAL 12.5 (it round-trips), and a SQLite source's DECIMAL column holds
// REALs already.
func canonAmount(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func runModel(t *testing.T, m *model, env *pipeline.Env, exports string, steps int) {
	ctx := context.Background()
	src := &faultySource{Source: env.Source}
	store := &faultyStore{Store: env.Store}
	st := &faultyState{Store: env.State}
	env.Source, env.Store, env.State = src, store, st
	// Job ids and file names are per second; a clock that ticks a second
	// per call keeps hundreds of runs from waiting for the wall clock.
	var fake atomic.Int64
	fake.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix())
	env.Now = func() time.Time { return time.Unix(fake.Add(1), 0).UTC() }
	runs, failures := 0, 0
	for step := 1; step <= steps; step++ {
		m.step()
		if m.rng.IntN(3) != 0 {
			continue
		}
		before, _ := st.Get(ctx, "items")
		fault := m.rng.IntN(8)
		switch fault {
		case 0:
			src.failAfter = m.rng.IntN(3)
			src.armed.Store(true)
		case 1:
			store.failAt.Store(int32(1 + m.rng.IntN(4)))
			store.armed.Store(true)
		case 2:
			st.armed.Store(true)
		}
		rep, err := pipeline.Run(ctx, env, pipeline.Options{})
		runs++
		if err != nil { // the job could not even claim its id
			if fault != 1 {
				t.Fatalf("step %d: %v", step, err)
			}
			rep = &pipeline.Report{Error: err.Error()}
		}
		src.armed.Store(false)
		store.armed.Store(false)
		st.armed.Store(false)
		if !rep.Success {
			failures++
			if fault > 2 {
				t.Fatalf("step %d: run failed without a fault: %s", step, rep.Error)
			}
			after, _ := st.Get(ctx, "items")
			if fmt.Sprint(before) != fmt.Sprint(after) {
				t.Fatalf("step %d: failed run moved the watermark from %+v to %+v", step, before, after)
			}
			continue
		}
		m.check(exports, step)
	}
	// A last clean run must converge whatever happened before.
	mustRun(t, env, pipeline.Options{})
	m.check(exports, steps+1)
	t.Logf("%d steps, %d runs, %d failed on purpose, %d rows in the table", steps, runs, failures, len(m.rows))
}

func seed(t *testing.T) uint64 {
	if s := os.Getenv("COUNTYSYNC_SEED"); s != "" {
		v, _ := strconv.ParseUint(s, 10, 64)
		return v
	}
	s := uint64(time.Now().UnixNano())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("reproduce with COUNTYSYNC_SEED=%d", s)
		}
	})
	return s
}

const modelConfig = `datasets:
  - name: items
    query: SELECT id, name, amount, updated_at, is_deleted FROM items
    key_columns: [id]
    incremental: {column: updated_at, lookback: 10m, deleted_column: is_deleted}
    formats: [sqlite, csv, json]
`

func TestIncrementalModelPostgres(t *testing.T) {
	s := seed(t)
	url := testsvc.PG(t)
	testsvc.PGExec(t, url, `CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, amount numeric(12,2) NOT NULL,
		updated_at timestamptz NOT NULL, is_deleted boolean NOT NULL DEFAULT false)`)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dir := t.TempDir()
	env := newEnv(t, dir, `source: {url: "`+url+`"}`+"\n"+modelConfig)
	m := &model{t: t, db: db, rng: rand.New(rand.NewPCG(s, 1)), rows: map[int]*modelRow{}, lookbk: 10 * time.Minute,
		clock: time.Date(2025, 4, 11, 14, 30, 42, 123456000, time.UTC), ts: func(t time.Time) any { return t }}
	runModel(t, m, env, filepath.Join(dir, "exports"), 200)
}

func TestIncrementalModelSQLite(t *testing.T) {
	s := seed(t)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "county.db")
	db, err := sql.Open("sqlite3", "file:"+dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, amount DECIMAL(12,2) NOT NULL,
		updated_at DATETIME NOT NULL, is_deleted BOOLEAN NOT NULL DEFAULT 0)`); err != nil {
		t.Fatal(err)
	}
	env := newEnv(t, dir, "source: {url: \"sqlite://county.db\"}\n"+modelConfig)
	m := &model{t: t, db: db, rng: rand.New(rand.NewPCG(s, 2)), rows: map[int]*modelRow{}, lookbk: 10 * time.Minute,
		clock: time.Date(2025, 4, 11, 14, 30, 42, 123456000, time.UTC), sqlite: true,
		ts: func(t time.Time) any { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }}
	runModel(t, m, env, filepath.Join(dir, "exports"), 200)
}
