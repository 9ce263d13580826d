package pipeline_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/source"
	"github.com/countydatasync/countysync/internal/source/sqlite"
)

// keyOrderEnv creates a SQLite source whose table t holds ids 1..n (with
// text keys that sort differently under collations) and a config with one
// dataset per query.
func keyOrderEnv(t *testing.T, n int, queries map[string]string, keys string) *pipeline.Env {
	return tableEnv(t, n, "storage: {url: file://./exports}", queries, keys)
}

// tableEnv is keyOrderEnv with the config's storage line.
func tableEnv(t *testing.T, n int, storage string, queries map[string]string, keys string) *pipeline.Env {
	t.Helper()
	dir := t.TempDir()
	var script strings.Builder
	script.WriteString("CREATE TABLE t (id INTEGER, code TEXT, v REAL);\n")
	// Inserted out of order, so the table's own order is not the key's.
	for i := n; i >= 1; i-- {
		j := (i*7919)%n + 1
		fmt.Fprintf(&script, "INSERT INTO t VALUES (%d, '%s', %d.5);\n", j, []string{"b", "B", "a", "ä", "A"}[j%5]+fmt.Sprint(j), j)
	}
	if err := sqlite.CreateDatabase(context.Background(), filepath.Join(dir, "src.sqlite"), script.String()); err != nil {
		t.Fatal(err)
	}
	var cfg strings.Builder
	cfg.WriteString("source: {url: sqlite://src.sqlite}\n" + storage + "\nformats: [csv, sqlite]\ndatasets:\n")
	for name, q := range queries {
		fmt.Fprintf(&cfg, "  - name: %s\n    query: %q\n    key_columns: [%s]\n", name, q, keys)
	}
	t.Chdir(dir)
	return newEnv(t, dir, cfg.String())
}

// A keyed dataset renders in key order however its query orders the rows:
// rows that come in key order stream straight into the formats, others
// go through the snapshot, and both give the same files.
func TestFullRunRendersInKeyOrderWhateverTheQueryOrder(t *testing.T) {
	const n = 500
	queries := map[string]string{
		"asc":      "SELECT id, code, v FROM t ORDER BY id",
		"desc":     "SELECT id, code, v FROM t ORDER BY id DESC",
		"unsorted": "SELECT id, code, v FROM t",
	}
	env := keyOrderEnv(t, n, queries, "id")
	counter := &countingSource{Source: env.Source}
	env.Source = counter
	rep := mustRun(t, env, pipeline.Options{})
	// The source is read once per dataset, and every dataset streamed (no
	// snapshot: no extract time of its own), whatever the query's order.
	if got := counter.n.Load(); got != int64(len(queries)) {
		t.Errorf("%d queries for %d datasets: the source was read more than once", got, len(queries))
	}
	for _, d := range rep.Datasets {
		if d.ExtractSeconds != 0 {
			t.Errorf("%s went through a snapshot (extract_seconds %v), want streamed", d.Name, d.ExtractSeconds)
		}
	}
	var want []byte
	for _, name := range []string{"asc", "desc", "unsorted"} {
		a := artifact(t, rep, name, "csv")
		recs := readCSV(t, a.Path)
		if len(recs) != n+1 {
			t.Fatalf("%s: %d CSV records, want %d rows and a header", name, len(recs), n)
		}
		for i, r := range recs[1:] {
			if r[0] != fmt.Sprint(i+1) {
				t.Fatalf("%s: CSV row %d has id %s, want %d (key order)", name, i+1, r[0], i+1)
			}
		}
		db := openSQLite(t, artifact(t, rep, name, "sqlite").Path)
		var count, ordered int
		if err := db.QueryRow(`SELECT count(*), sum(id = rn) FROM (SELECT id, row_number() OVER () AS rn FROM `+name+`_data)`).Scan(&count, &ordered); err != nil {
			t.Fatal(err)
		}
		if count != n || ordered != n {
			t.Errorf("%s: SQLite file has %d rows, %d of them at their key's position", name, count, ordered)
		}
		// The CSV files of the three datasets differ only in nothing: same rows, same order.
		data, err := os.ReadFile(a.Path)
		if err != nil {
			t.Fatal(err)
		}
		if want == nil {
			want = data
		} else if string(data) != string(want) {
			t.Errorf("%s: CSV differs from the key-ordered query's", name)
		}
	}
}

// countingSource counts the queries run.
type countingSource struct {
	source.Source
	n atomic.Int64
}

func (s *countingSource) Query(ctx context.Context, q string, f *source.Filter) (source.Rows, error) {
	s.n.Add(1)
	return s.Source.Query(ctx, q, f)
}

// Text keys order byte by byte (as the snapshot stores them), whatever
// collation the query sorted by.
func TestFullRunTextKeysInByteOrder(t *testing.T) {
	const n = 50
	env := keyOrderEnv(t, n, map[string]string{
		"nocase": "SELECT code, id FROM t ORDER BY code COLLATE NOCASE DESC",
		"binary": "SELECT code, id FROM t ORDER BY code",
	}, "code")
	rep := mustRun(t, env, pipeline.Options{})
	for _, name := range []string{"nocase", "binary"} {
		recs := readCSV(t, artifact(t, rep, name, "csv").Path)
		var codes []string
		for _, r := range recs[1:] {
			codes = append(codes, r[0])
		}
		if len(codes) != n || !slices.IsSorted(codes) {
			t.Errorf("%s: %d codes, byte-sorted %v: %q…", name, len(codes), slices.IsSorted(codes), codes[:min(8, len(codes))])
		}
	}
}

// A duplicate key fails the dataset with a message naming the key, on the
// streaming path as on the snapshot path, and leaves no file behind.
func TestFullRunDuplicateKeyFails(t *testing.T) {
	env := keyOrderEnv(t, 20, map[string]string{
		"dup": "SELECT id, code FROM t UNION ALL SELECT id, code FROM t WHERE id = 7 ORDER BY id",
	}, "id")
	rep, err := pipeline.Run(context.Background(), env, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Success || !strings.Contains(rep.Datasets[0].Error, "duplicate key") || !strings.Contains(rep.Datasets[0].Error, "7") {
		t.Fatalf("success %v, error %q; want a failure naming duplicate key 7", rep.Success, rep.Datasets[0].Error)
	}
	entries, _ := filepath.Glob(filepath.Join("exports", "dup*"))
	if len(entries) != 0 {
		t.Errorf("files left for the failed dataset: %v", entries)
	}
}
