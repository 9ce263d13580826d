package pipeline_test

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/record"
	"github.com/countydatasync/countysync/internal/source"
	"github.com/countydatasync/countysync/internal/testsvc"
)

// The live model: a writer changes the table while runs read it (inserts,
// updates, soft and hard deletes, key changes, transactions that commit
// after the extraction read, a column added), and after every run every
// format must equal the table as it was committed when the run's query
// started. The source wrapper below records that state: it blocks the
// writer's commits from the moment the dataset's query is sent until the
// keys-only query (incremental.deletes: keys) has started, so both see
// one committed state, which the model copies. Rows are read while the
// writer goes on (PostgreSQL). A long transaction's cursor is the time it
// began and it commits within the lookback: a transaction that stays open
// longer than the lookback is the in-flight cap's case (issue 13 item 3),
// not modelled here.

type liveRow struct {
	name, amount, extra string
	updated             time.Time
	deleted             bool
}

type liveModel struct {
	t      *testing.T
	db     *sql.DB
	rng    *rand.Rand
	ts     func(time.Time) any
	mu     sync.Mutex // held by commits and by the source wrapper's capture
	clock  time.Time
	nextID int
	rows   map[int]liveRow
	extra  bool // the extra column exists
	pg     bool
	seen   map[int]liveRow // the state the last run's query read
}

func (m *liveModel) ph(s string) string {
	return s // $n placeholders work in both drivers
}

// tick advances the model clock a few seconds (0 makes ties).
func (m *liveModel) tick() time.Time {
	m.clock = m.clock.Add(time.Duration(m.rng.IntN(4)) * time.Second).Add(time.Duration(m.rng.IntN(3)) * time.Microsecond)
	return m.clock
}

// op runs one random change in its own transaction; with hold it inserts
// a row and returns the open transaction and the model change to apply
// when it commits.
func (m *liveModel) op(hold bool) (*sql.Tx, func()) {
	m.t.Helper()
	m.mu.Lock()
	at := m.tick()
	ids := slices.Sorted(maps.Keys(m.rows))
	var stmt string
	var args []any
	var apply func()
	// A held transaction only inserts (a new id): a held row lock would
	// make the writer's next change of that row wait for it.
	switch k := m.rng.IntN(10); {
	case k < 3 || len(ids) == 0 || hold: // insert
		m.nextID++
		id := m.nextID
		r := liveRow{name: "n" + strconv.Itoa(m.rng.IntN(1000)), amount: fmt.Sprintf("%d.%02d", m.rng.IntN(10000), m.rng.IntN(100)), updated: at}
		if m.extra {
			r.extra = "e" + strconv.Itoa(m.rng.IntN(9))
			stmt, args = `INSERT INTO items (id, name, amount, updated_at, is_deleted, extra) VALUES ($1, $2, $3, $4, false, $5)`,
				[]any{id, r.name, r.amount, m.ts(at), r.extra}
		} else {
			stmt, args = `INSERT INTO items (id, name, amount, updated_at, is_deleted) VALUES ($1, $2, $3, $4, false)`,
				[]any{id, r.name, r.amount, m.ts(at)}
		}
		apply = func() { m.rows[id] = r }
	case k < 6: // update (also undeletes)
		id := ids[m.rng.IntN(len(ids))]
		name := "u" + strconv.Itoa(m.rng.IntN(1000))
		stmt, args = `UPDATE items SET name = $1, updated_at = $2, is_deleted = false WHERE id = $3`, []any{name, m.ts(at), id}
		apply = func() {
			if r, ok := m.rows[id]; ok {
				r.name, r.updated, r.deleted = name, at, false
				m.rows[id] = r
			}
		}
	case k < 7: // soft delete
		id := ids[m.rng.IntN(len(ids))]
		stmt, args = `UPDATE items SET is_deleted = true, updated_at = $1 WHERE id = $2`, []any{m.ts(at), id}
		apply = func() {
			if r, ok := m.rows[id]; ok {
				r.deleted, r.updated = true, at
				m.rows[id] = r
			}
		}
	case k < 9: // hard delete
		id := ids[m.rng.IntN(len(ids))]
		stmt, args = `DELETE FROM items WHERE id = $1`, []any{id}
		apply = func() { delete(m.rows, id) }
	default: // key change
		id := ids[m.rng.IntN(len(ids))]
		m.nextID++
		to := m.nextID
		stmt, args = `UPDATE items SET id = $1, updated_at = $2 WHERE id = $3`, []any{to, m.ts(at), id}
		apply = func() {
			if r, ok := m.rows[id]; ok {
				delete(m.rows, id)
				r.updated = at
				m.rows[to] = r
			}
		}
	}
	if hold {
		m.mu.Unlock()
	}
	tx, err := m.db.Begin()
	if err == nil {
		_, err = tx.Exec(stmt, args...)
	}
	if err != nil {
		m.t.Errorf("%s: %v", stmt, err)
		if !hold {
			m.mu.Unlock()
		}
		return nil, nil
	}
	if hold {
		return tx, apply
	}
	defer m.mu.Unlock()
	if err := tx.Commit(); err != nil {
		m.t.Errorf("commit: %v", err)
		return nil, nil
	}
	apply()
	return nil, nil
}

// commit commits a held transaction and applies its change.
func (m *liveModel) commit(tx *sql.Tx, apply func()) {
	if tx == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := tx.Commit(); err != nil {
		// Another commit changed the row under it (PostgreSQL serializes
		// row writers): the transaction lost; nothing to apply.
		m.t.Logf("held transaction: %v", err)
		return
	}
	apply()
}

// capture copies the committed state; the caller holds m.mu.
func (m *liveModel) capture() {
	m.seen = maps.Clone(m.rows)
}

// check compares every format with the state the run's query read.
func (m *liveModel) check(exports string, run int) {
	t := m.t
	t.Helper()
	want := map[string]string{}
	for id, r := range m.seen {
		if !r.deleted {
			want[strconv.Itoa(id)] = strings.Join([]string{r.name, canonAmount(r.amount), r.updated.UTC().Format(time.RFC3339Nano), r.extra}, "|")
		}
	}
	norm := func(ts string) string {
		p, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			t.Fatalf("run %d: bad timestamp %q", run, ts)
		}
		return p.UTC().Format(time.RFC3339Nano)
	}
	compare := func(format string, got map[string]string) {
		t.Helper()
		for _, id := range slices.Sorted(maps.Keys(want)) {
			if g, ok := got[id]; !ok {
				t.Errorf("run %d, %s: row %s missing (want %q)", run, format, id, want[id])
			} else if g != want[id] {
				t.Errorf("run %d, %s: row %s = %q, want %q", run, format, id, g, want[id])
			}
		}
		for id, g := range got {
			if _, ok := want[id]; !ok {
				t.Errorf("run %d, %s: row %s (%q) should not be there", run, format, id, g)
			}
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	recs := readCSV(t, filepath.Join(exports, "items.csv"))
	col := func(name string) int { return slices.Index(recs[0], name) }
	got := map[string]string{}
	for _, r := range recs[1:] {
		extra := ""
		if i := col("extra"); i >= 0 {
			extra = r[i]
		}
		got[r[col("id")]] = strings.Join([]string{r[col("name")], canonAmount(r[col("amount")]), norm(r[col("updated_at")]), extra}, "|")
	}
	if len(got) != len(recs)-1 {
		t.Fatalf("run %d, csv: a key appears twice", run)
	}
	compare("csv", got)
	var rows []map[string]any
	readJSON(t, filepath.Join(exports, "items.json"), &rows)
	got = map[string]string{}
	for _, r := range rows {
		extra := ""
		if e, ok := r["extra"].(string); ok {
			extra = e
		}
		got[fmt.Sprint(r["id"])] = strings.Join([]string{r["name"].(string), canonAmount(fmt.Sprint(r["amount"])), norm(r["updated_at"].(string)), extra}, "|")
	}
	compare("json", got)
	db := openSQLite(t, filepath.Join(exports, "items.sqlite"))
	extraCol := "''"
	if m.extra {
		extraCol = "coalesce(extra, '')"
	}
	q, err := db.Query(`SELECT id, name, CAST(amount AS TEXT), updated_at, ` + extraCol + ` FROM items_data`)
	if err != nil {
		t.Fatal(err)
	}
	got = map[string]string{}
	for q.Next() {
		var id, name, amount, upd, extra string
		q.Scan(&id, &name, &amount, &upd, &extra)
		got[id] = strings.Join([]string{name, canonAmount(amount), norm(upd), extra}, "|")
	}
	q.Close()
	db.Close()
	compare("sqlite", got)
}

// capturingSource records the model's committed state when the dataset's
// query is sent and holds the writer until the keys query has started
// (or the query's rows are closed, for runs without one).
type capturingSource struct {
	source.Source
	m    *liveModel
	held bool
	mu   sync.Mutex
}

func (s *capturingSource) SortKey(quoted string, kind record.Kind) string {
	return s.Source.(source.KeySorter).SortKey(quoted, kind)
}

func (s *capturingSource) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held {
		s.held = false
		s.m.mu.Unlock()
	}
}

func (s *capturingSource) Query(ctx context.Context, q string, f *source.Filter) (source.Rows, error) {
	keys := strings.Contains(q, "countysync_keys")
	s.mu.Lock()
	if !s.held && !keys {
		s.m.mu.Lock()
		s.held = true
	}
	if !keys {
		s.m.capture()
	}
	s.mu.Unlock()
	rows, err := s.Source.Query(ctx, q, f)
	if keys || err != nil {
		s.release()
		return rows, err
	}
	return &releasingRows{Rows: rows, s: s}, nil
}

type releasingRows struct {
	source.Rows
	s *capturingSource
}

func (r *releasingRows) Close() { r.Rows.Close(); r.s.release() }

const liveModelConfig = `datasets:
  - name: items
    query: SELECT * FROM items
    key_columns: [id]
    incremental: {column: updated_at, lookback: 10m, deleted_column: is_deleted, deletes: keys}
    formats: [sqlite, csv, json]
`

// runLiveModel runs the dataset `runs` times. With concurrent (PostgreSQL)
// a writer goroutine changes the table while each run reads it; a
// transaction opened before each run commits after its extraction began.
// Without (SQLite: one writer at a time) the changes come between runs.
func runLiveModel(t *testing.T, m *liveModel, env *pipeline.Env, exports string, runs int, concurrent bool) {
	ctx := context.Background()
	src := &capturingSource{Source: env.Source, m: m}
	env.Source = src
	// Job ids are per second: a clock that ticks a second per call keeps
	// the runs from waiting for the wall clock.
	var fake atomic.Int64
	fake.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix())
	env.Now = func() time.Time { return time.Unix(fake.Add(1), 0).UTC() }
	addAt := 1 + m.rng.IntN(runs-2)
	for run := 1; run <= runs; run++ {
		for n := m.rng.IntN(8); n > 0; n-- {
			m.op(false)
		}
		if run == addAt {
			m.mu.Lock()
			if _, err := m.db.Exec(`ALTER TABLE items ADD COLUMN extra TEXT DEFAULT 'x'`); err != nil {
				t.Fatal(err)
			}
			for id, r := range m.rows {
				r.extra = "x"
				m.rows[id] = r
			}
			m.extra = true
			m.mu.Unlock()
		}
		var held *sql.Tx
		var apply func()
		if concurrent {
			held, apply = m.op(true) // begun before the run, committed during it
		}
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			if !concurrent {
				return
			}
			for i := 0; i < 40; i++ {
				select {
				case <-stop:
					m.commit(held, apply)
					return
				default:
				}
				if i == 3 {
					m.commit(held, apply)
					held = nil
				}
				m.op(false)
			}
			<-stop
			m.commit(held, apply)
		}()
		rep, err := pipeline.Run(ctx, env, pipeline.Options{})
		close(stop)
		<-done
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if !rep.Success {
			t.Fatalf("run %d failed: %s", run, rep.Error)
		}
		m.check(exports, run)
	}
	t.Logf("%d runs, %d rows in the table", runs, len(m.rows))
}

func TestLiveModelPostgres(t *testing.T) {
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
	env := newEnv(t, dir, `source: {url: "`+url+`"}`+"\n"+liveModelConfig)
	m := &liveModel{t: t, db: db, rng: rand.New(rand.NewPCG(s, 3)), rows: map[int]liveRow{}, pg: true,
		clock: time.Date(2025, 4, 11, 14, 30, 42, 123456000, time.UTC), ts: func(t time.Time) any { return t }}
	runLiveModel(t, m, env, filepath.Join(dir, "exports"), 40, true)
}

func TestLiveModelSQLite(t *testing.T) {
	s := seed(t)
	dir := t.TempDir()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "county.db")+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, amount DECIMAL(12,2) NOT NULL,
		updated_at DATETIME NOT NULL, is_deleted BOOLEAN NOT NULL DEFAULT 0)`); err != nil {
		t.Fatal(err)
	}
	env := newEnv(t, dir, "source: {url: \"sqlite://county.db\"}\n"+liveModelConfig)
	m := &liveModel{t: t, db: db, rng: rand.New(rand.NewPCG(s, 4)), rows: map[int]liveRow{},
		clock: time.Date(2025, 4, 11, 14, 30, 42, 123456000, time.UTC),
		ts:    func(t time.Time) any { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }}
	runLiveModel(t, m, env, filepath.Join(dir, "exports"), 40, false)
}
