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
//
// The variants (issue 16): the cursor is the timestamp updated_at, or a
// bigint or numeric(20,6) version the writing transaction sets from a
// sequence on every insert and update (PostgreSQL: nextval, taken inside
// the transaction, so the held transaction's value is below those of the
// commits made during the run; the pipeline keeps the watermark where the
// run started while a transaction is open, see pipeline.capWatermark); or
// the dataset has no key columns, and the writer only inserts (rows,
// several copies of a row, and copies of recent rows: duplicates), and the
// files must hold exactly the table's rows, duplicates included.

type liveRow struct {
	name, amount, extra string
	version             string // the sequence cursor's value
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

	// versioned: the cursor is the version column, of SQL type vtype,
	// taken inside the writing transaction: from vexpr (PostgreSQL: a
	// sequence) or, without it (SQLite, one writer), from counter.
	versioned bool
	vtype     string
	vexpr     string
	counter   int
	// keyless: the dataset has no key columns and the writer only
	// inserts; rows is keyed by a model row number, ids gives each one's
	// table id (copies share it).
	keyless bool
	nextRow int
	ids     map[int]int
}

// tick advances the model clock a few seconds (0 makes ties).
func (m *liveModel) tick() time.Time {
	m.clock = m.clock.Add(time.Duration(m.rng.IntN(4)) * time.Second).Add(time.Duration(m.rng.IntN(3)) * time.Microsecond)
	return m.clock
}

// op runs one random change in its own transaction; with hold it inserts
// a row and returns the open transaction and the model change to apply
// when it commits. Statements write the version cursor as {v}: its value
// is taken inside the transaction (a sequence on PostgreSQL).
func (m *liveModel) op(hold bool) (*sql.Tx, func()) {
	m.t.Helper()
	m.mu.Lock()
	at := m.tick()
	ids := slices.Sorted(maps.Keys(m.rows))
	var stmt string
	var args []any
	var apply func()
	var ver string // the version the transaction took
	newRow := func(prefix string) liveRow {
		r := liveRow{name: prefix + strconv.Itoa(m.rng.IntN(1000)), amount: fmt.Sprintf("%d.%02d", m.rng.IntN(10000), m.rng.IntN(100)), updated: at}
		if m.extra {
			r.extra = "e" + strconv.Itoa(m.rng.IntN(9))
		}
		return r
	}
	// insert writes copies of r under the table id; a key-less model
	// gives each copy a row of its own.
	insert := func(id int, r liveRow, copies int) {
		cols, vals := "id, name, amount, updated_at, is_deleted", "$1, $2, $3, $4, false"
		args = []any{id, r.name, r.amount, m.ts(r.updated)}
		if m.extra {
			cols, vals = cols+", extra", vals+", $5"
			args = append(args, r.extra)
		}
		if m.versioned {
			cols, vals = cols+", version", vals+", {v}"
		}
		stmt = `INSERT INTO items (` + cols + `) VALUES ` + strings.TrimSuffix(strings.Repeat("("+vals+"), ", copies), ", ")
		apply = func() {
			if m.versioned {
				r.version = ver
			}
			if !m.keyless {
				m.rows[id] = r
				return
			}
			for range copies {
				m.nextRow++
				m.rows[m.nextRow], m.ids[m.nextRow] = r, id
			}
		}
	}
	// A held transaction only inserts (a new id): a held row lock would
	// make the writer's next change of that row wait for it.
	switch k := m.rng.IntN(10); {
	case k < 3 || len(ids) == 0 || hold: // insert
		m.nextID++
		insert(m.nextID, newRow("n"), 1)
	case m.keyless && k < 7: // several copies of one new row, one statement
		m.nextID++
		insert(m.nextID, newRow("c"), 2+m.rng.IntN(2))
	case m.keyless: // a copy of a recent row, its cursor too: read again at the boundary
		i := ids[m.rng.IntN(len(ids))]
		r := m.rows[i]
		if m.versioned || r.updated.Before(m.clock.Add(-5*time.Minute)) {
			// A copy's cursor must be one the next run reads again: a
			// recent time, within the lookback (a version cursor
			// re-reads only the boundary value: no copies).
			m.nextID++
			r = newRow("n")
			insert(m.nextID, r, 1)
		} else {
			insert(m.ids[i], r, 1)
		}
	case k < 6: // update (also undeletes)
		id := ids[m.rng.IntN(len(ids))]
		name := "u" + strconv.Itoa(m.rng.IntN(1000))
		stmt, args = `UPDATE items SET name = $1, updated_at = $2, is_deleted = false`+m.setVersion()+` WHERE id = $3`, []any{name, m.ts(at), id}
		apply = func() {
			if r, ok := m.rows[id]; ok {
				r.name, r.updated, r.deleted, r.version = name, at, false, ver
				m.rows[id] = r
			}
		}
	case k < 7: // soft delete
		id := ids[m.rng.IntN(len(ids))]
		stmt, args = `UPDATE items SET is_deleted = true, updated_at = $1`+m.setVersion()+` WHERE id = $2`, []any{m.ts(at), id}
		apply = func() {
			if r, ok := m.rows[id]; ok {
				r.deleted, r.updated, r.version = true, at, ver
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
		stmt, args = `UPDATE items SET id = $1, updated_at = $2`+m.setVersion()+` WHERE id = $3`, []any{to, m.ts(at), id}
		apply = func() {
			if r, ok := m.rows[id]; ok {
				delete(m.rows, id)
				r.updated, r.version = at, ver
				m.rows[to] = r
			}
		}
	}
	if hold {
		m.mu.Unlock()
	}
	tx, err := m.db.Begin()
	if err == nil && strings.Contains(stmt, "{v}") {
		// The version is taken inside the writing transaction.
		if m.vexpr != "" {
			err = tx.QueryRow(`SELECT (` + m.vexpr + `)::text`).Scan(&ver)
			args = append(args, ver)
			stmt = strings.ReplaceAll(stmt, "{v}", "CAST(CAST($"+strconv.Itoa(len(args))+" AS TEXT) AS "+m.vtype+")")
		} else {
			// SQLite numbers $n parameters in the order they appear: the
			// model's counter goes in as a literal.
			m.counter++
			ver = strconv.Itoa(m.counter)
			stmt = strings.ReplaceAll(stmt, "{v}", ver)
		}
	}
	if err == nil {
		_, err = tx.Exec(stmt, args...)
	}
	if err != nil {
		m.t.Errorf("%s: %v", stmt, err)
		if tx != nil {
			tx.Rollback()
		}
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

// setVersion is the SET clause of the version cursor, if there is one.
func (m *liveModel) setVersion() string {
	if !m.versioned {
		return ""
	}
	return ", version = {v}"
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

// check compares every format with the state the run's query read: by
// key, or, key-less, as a multiset of rows.
func (m *liveModel) check(exports string, run int) {
	t := m.t
	t.Helper()
	line := func(id, name, amount, updated, extra, version string) string {
		l := []string{id, name, canonAmount(amount), updated, extra}
		if m.versioned {
			l = append(l, canonAmount(version))
		}
		return strings.Join(l, "|")
	}
	var want []string
	for i, r := range m.seen {
		id := i
		if m.keyless {
			id = m.ids[i]
		}
		if !r.deleted {
			want = append(want, line(strconv.Itoa(id), r.name, r.amount, r.updated.UTC().Format(time.RFC3339Nano), r.extra, r.version))
		}
	}
	slices.Sort(want)
	norm := func(ts string) string {
		p, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			t.Fatalf("run %d: bad timestamp %q", run, ts)
		}
		return p.UTC().Format(time.RFC3339Nano)
	}
	compare := func(format string, got []string) {
		t.Helper()
		slices.Sort(got)
		if !m.keyless {
			for i := 1; i < len(got); i++ {
				if a, b := got[i-1], got[i]; a[:strings.IndexByte(a, '|')] == b[:strings.IndexByte(b, '|')] {
					t.Errorf("run %d, %s: key %s appears twice", run, format, a[:strings.IndexByte(a, '|')])
				}
			}
		}
		// Both sorted: walk them side by side.
		i, j := 0, 0
		for i < len(want) || j < len(got) {
			switch {
			case j == len(got) || i < len(want) && want[i] < got[j]:
				t.Errorf("run %d, %s: row %q missing", run, format, want[i])
				i++
			case i == len(want) || got[j] < want[i]:
				t.Errorf("run %d, %s: row %q should not be there", run, format, got[j])
				j++
			default:
				i, j = i+1, j+1
			}
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	recs := readCSV(t, filepath.Join(exports, "items.csv"))
	col := func(name string) int { return slices.Index(recs[0], name) }
	field := func(r []string, name string) string {
		if i := col(name); i >= 0 {
			return r[i]
		}
		return ""
	}
	var got []string
	for _, r := range recs[1:] {
		got = append(got, line(field(r, "id"), field(r, "name"), field(r, "amount"), norm(field(r, "updated_at")), field(r, "extra"), field(r, "version")))
	}
	compare("csv", got)
	var rows []map[string]any
	readJSON(t, filepath.Join(exports, "items.json"), &rows)
	got = nil
	for _, r := range rows {
		str := func(k string) string {
			if v, ok := r[k]; ok && v != nil {
				return fmt.Sprint(v)
			}
			return ""
		}
		got = append(got, line(str("id"), str("name"), str("amount"), norm(str("updated_at")), str("extra"), str("version")))
	}
	compare("json", got)
	db := openSQLite(t, filepath.Join(exports, "items.sqlite"))
	extraCol, versionCol := "''", "''"
	if m.extra {
		extraCol = "coalesce(extra, '')"
	}
	if m.versioned {
		versionCol = "CAST(version AS TEXT)"
	}
	q, err := db.Query(`SELECT id, name, CAST(amount AS TEXT), updated_at, ` + extraCol + `, ` + versionCol + ` FROM items_data`)
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for q.Next() {
		var id, name, amount, upd, extra, version string
		if err := q.Scan(&id, &name, &amount, &upd, &extra, &version); err != nil {
			t.Fatal(err)
		}
		got = append(got, line(id, name, amount, norm(upd), extra, version))
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

// liveVariant is one shape of the live model (issue 16).
type liveVariant struct {
	name    string
	vtype   string // the version cursor's SQL type; "" for updated_at
	vexpr   string // PostgreSQL: the version's next value
	keyless bool
}

var liveVariants = []liveVariant{
	{name: "timestamp"},
	{name: "integer", vtype: "bigint", vexpr: "nextval('items_version')"},
	{name: "numeric", vtype: "numeric(20,6)", vexpr: "nextval('items_version')::numeric / 8 + 0.000001"},
	{name: "keyless", keyless: true},
	{name: "keyless_integer", vtype: "bigint", vexpr: "nextval('items_version')", keyless: true},
}

// config is the dataset of the variant.
func (v liveVariant) config() string {
	inc := "{column: updated_at, lookback: 10m"
	if v.vtype != "" {
		inc = "{column: version"
	}
	keys := "    key_columns: [id]\n"
	if v.keyless {
		keys = ""
		inc += "}"
	} else {
		inc += ", deleted_column: is_deleted, deletes: keys}"
	}
	return "datasets:\n  - name: items\n    query: SELECT * FROM items\n" + keys +
		"    incremental: " + inc + "\n    formats: [sqlite, csv, json]\n"
}

// model makes the variant's model over db.
func (v liveVariant) model(t *testing.T, db *sql.DB, rng *rand.Rand) *liveModel {
	return &liveModel{t: t, db: db, rng: rng, rows: map[int]liveRow{}, ids: map[int]int{},
		clock:     time.Date(2025, 4, 11, 14, 30, 42, 123456000, time.UTC),
		versioned: v.vtype != "", vtype: v.vtype, vexpr: v.vexpr, keyless: v.keyless}
}

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
		// Begun before the run, committed during it; one run in three has
		// none, so the watermark also moves past what it read (a
		// sequence cursor stays where the run started while a
		// transaction is open).
		if concurrent && m.rng.IntN(3) > 0 {
			held, apply = m.op(true)
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
	for i, v := range liveVariants {
		t.Run(v.name, func(t *testing.T) {
			s := seed(t)
			url := testsvc.PG(t)
			pk, version := " PRIMARY KEY", ""
			if v.keyless {
				pk = ""
			}
			if v.vtype != "" {
				version = ", version " + v.vtype + " NOT NULL"
				testsvc.PGExec(t, url, `CREATE SEQUENCE items_version`)
			}
			testsvc.PGExec(t, url, `CREATE TABLE items (id int`+pk+`, name text NOT NULL, amount numeric(12,2) NOT NULL,
				updated_at timestamptz NOT NULL, is_deleted boolean NOT NULL DEFAULT false`+version+`)`)
			db, err := sql.Open("pgx", url)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			dir := t.TempDir()
			env := newEnv(t, dir, `source: {url: "`+url+`"}`+"\n"+v.config())
			m := v.model(t, db, rand.New(rand.NewPCG(s, 3+uint64(i)*10)))
			m.pg, m.ts = true, func(t time.Time) any { return t }
			runLiveModel(t, m, env, filepath.Join(dir, "exports"), 40, true)
		})
	}
}

// TestLiveModelSQLite runs the variants SQLite can write: its version is
// counted by the model (one writer at a time), not a sequence.
func TestLiveModelSQLite(t *testing.T) {
	for i, v := range liveVariants {
		if v.vtype != "" && v.vtype != "bigint" {
			continue
		}
		t.Run(v.name, func(t *testing.T) {
			s := seed(t)
			dir := t.TempDir()
			db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "county.db")+"?_busy_timeout=10000")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			pk, version := " PRIMARY KEY", ""
			if v.keyless {
				pk = ""
			}
			if v.vtype != "" {
				version = ", version INTEGER NOT NULL"
			}
			if _, err := db.Exec(`CREATE TABLE items (id INTEGER` + pk + `, name TEXT NOT NULL, amount DECIMAL(12,2) NOT NULL,
				updated_at DATETIME NOT NULL, is_deleted BOOLEAN NOT NULL DEFAULT 0` + version + `)`); err != nil {
				t.Fatal(err)
			}
			env := newEnv(t, dir, "source: {url: \"sqlite://county.db\"}\n"+v.config())
			m := v.model(t, db, rand.New(rand.NewPCG(s, 4+uint64(i)*10)))
			m.vexpr, m.vtype = "", "INTEGER"
			if v.vtype == "" {
				m.vtype = ""
			}
			m.ts = func(t time.Time) any { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }
			runLiveModel(t, m, env, filepath.Join(dir, "exports"), 40, false)
		})
	}
}
