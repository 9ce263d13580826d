package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countydatasync/countysync/internal/source"
)

// sealed is a source file with a table victim of one row, and a check
// that neither the file nor its folder changed.
func sealed(t testing.TB) (*Source, string, func(testing.TB)) {
	t.Helper()
	dir, err := os.MkdirTemp("", "sealed-*") // a new folder per fuzz input
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "county.db")
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE victim (id INTEGER); INSERT INTO victim VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	src, err := Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	sum := func() [32]byte {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(b)
	}
	before := sum()
	return src, path, func(t testing.TB) {
		t.Helper()
		if sum() != before {
			t.Fatal("the source file changed")
		}
		ents, _ := os.ReadDir(filepath.Dir(path))
		for _, e := range ents {
			if e.Name() != filepath.Base(path) {
				t.Fatalf("a file appeared beside the source: %s", e.Name())
			}
		}
		// An independent reader: the row is still there.
		db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM victim`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("victim has %d rows (%v), want 1", n, err)
		}
	}
}

// The red-team's query (S4): close the subquery, ATTACH the source file
// read-write, DELETE from it. It and one that creates a new file through
// ATTACH are refused with an ErrQuery, and nothing changes on disk.
func TestQueryCannotWriteThroughAttach(t *testing.T) {
	src, path, check := sealed(t)
	pwn := filepath.Join(filepath.Dir(path), "pwn.db")
	for _, q := range []string{
		"SELECT 1 AS id) ; ATTACH DATABASE '" + path + "' AS s2; DELETE FROM s2.victim; SELECT * FROM (SELECT 1 AS id",
		"SELECT 1 AS id) ; ATTACH DATABASE '" + pwn + "' AS p; CREATE TABLE p.t (x); SELECT * FROM (SELECT 1 AS id",
		"SELECT 1 AS id) ; PRAGMA query_only = 0; DELETE FROM victim; SELECT * FROM (SELECT 1 AS id",
	} {
		rows, err := src.Query(context.Background(), q, nil)
		if err == nil {
			for rows.Next() {
			}
			err = rows.Err()
			rows.Close()
		}
		if !errors.Is(err, source.ErrQuery) {
			t.Errorf("%s: %v, want ErrQuery", q, err)
		}
		check(t)
	}
	// Reading still works, with CTEs and pragma reads.
	rows, err := src.Query(context.Background(), `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 3)
SELECT i, (SELECT count(*) FROM victim) AS v, (SELECT page_size FROM pragma_page_size) AS ps FROM n`, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Err(); err != nil || n != 3 {
		t.Errorf("read query: %d rows, %v", n, err)
	}
	rows.Close()
}

// Whatever statement a query smuggles after the subquery, the source file
// and its folder stay as they were.
func FuzzQueryNeverWrites(f *testing.F) {
	for _, s := range []string{
		"DELETE FROM victim", "UPDATE victim SET id = 2", "INSERT INTO victim VALUES (3)",
		"DROP TABLE victim", "CREATE TABLE x (y)", "ALTER TABLE victim ADD COLUMN z",
		"ATTACH 'x.db' AS x", "DETACH main", "VACUUM", "VACUUM INTO 'copy.db'", "REINDEX",
		"PRAGMA writable_schema = 1", "PRAGMA journal_mode = WAL", "BEGIN IMMEDIATE", "SAVEPOINT a",
		"CREATE TEMP TABLE t AS SELECT 1", "REPLACE INTO victim VALUES (9)", "ANALYZE",
		"CREATE TRIGGER tr AFTER INSERT ON victim BEGIN DELETE FROM victim; END",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, stmt string) {
		src, path, check := sealed(t)
		dir := filepath.Dir(path)
		stmt = strings.ReplaceAll(stmt, "'x.db'", "'"+filepath.Join(dir, "x.db")+"'")
		stmt = strings.ReplaceAll(stmt, "'copy.db'", "'"+filepath.Join(dir, "copy.db")+"'")
		for _, q := range []string{
			"SELECT 1 AS id) ; " + stmt + "; SELECT * FROM (SELECT 1 AS id",
			"SELECT 1 AS id); " + stmt + " --",
		} {
			rows, err := src.Query(context.Background(), q, nil)
			if err == nil {
				for rows.Next() {
				}
				rows.Close()
			}
		}
		check(t)
	})
}
