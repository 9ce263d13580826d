package sqltext_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/mattn/go-sqlite3"

	"github.com/countydatasync/countysync/internal/sqltext"
	"github.com/countydatasync/countysync/internal/testsvc"
)

// names are identifiers that need quoting: keywords, quotes, spaces,
// commas, non-ASCII letters, and the empty-looking ones.
var names = []string{"plain", "select", `we"ird, col`, `""`, `"`, "two  spaces", "Straße", "a;b--c", "x'y", "MiXeD"}

// TestQuoteIdentSQLite asks SQLite which column name a quoted identifier
// names, in a SELECT alias and in a CREATE TABLE.
func TestQuoteIdentSQLite(t *testing.T) {
	db, err := sql.Open("sqlite3", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, name := range names {
		q := sqltext.QuoteIdent(name)
		rows, err := db.Query("SELECT 1 AS " + q)
		if err != nil {
			t.Errorf("%s: %v", q, err)
			continue
		}
		cols, err := rows.Columns()
		rows.Close()
		if err != nil || len(cols) != 1 || cols[0] != name {
			t.Errorf("SELECT 1 AS %s names the column %q (%v), want %q", q, cols, err, name)
		}
		if _, err := db.Exec("CREATE TABLE " + sqltext.QuoteIdent("t_"+name) + " (" + q + " int)"); err != nil {
			t.Errorf("CREATE TABLE with %s: %v", q, err)
			continue
		}
		var got string
		if err := db.QueryRow("SELECT name FROM pragma_table_info(?)", "t_"+name).Scan(&got); err != nil || got != name {
			t.Errorf("table column is %q (%v), want %q", got, err, name)
		}
	}
}

// TestQuoteIdentPostgres asks PostgreSQL which column name a quoted
// identifier names.
func TestQuoteIdentPostgres(t *testing.T) {
	url := testsvc.Need(t, "COUNTYSYNC_TEST_PG")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, name := range names {
		q := sqltext.QuoteIdent(name)
		rows, err := conn.Query(ctx, "SELECT 1 AS "+q)
		if err != nil {
			t.Errorf("%s: %v", q, err)
			continue
		}
		fds := rows.FieldDescriptions()
		rows.Close()
		if len(fds) != 1 || fds[0].Name != name {
			t.Errorf("SELECT 1 AS %s names the column %v, want %q", q, fds, name)
		}
	}
}

func TestCheckIdent(t *testing.T) {
	for _, name := range names {
		if err := sqltext.CheckIdent(name); err != nil {
			t.Errorf("CheckIdent(%q): %v", name, err)
		}
	}
	for _, bad := range []string{"a\x00b", "\xff", "ok\xc3"} {
		if err := sqltext.CheckIdent(bad); !errors.Is(err, sqltext.ErrBadIdent) {
			t.Errorf("CheckIdent(%q) = %v, want ErrBadIdent", bad, err)
		}
	}
}

func TestTrimStatement(t *testing.T) {
	for in, want := range map[string]string{
		"SELECT 1":                "SELECT 1",
		"  SELECT 1 ;\n":          "SELECT 1",
		"SELECT 1;;":              "SELECT 1",
		"SELECT 1 ; ; \n\t;":      "SELECT 1",
		"SELECT ';'":              "SELECT ';'",
		"\n\tSELECT a\nFROM t\n;": "SELECT a\nFROM t",
		";":                       "",
		"":                        "",
		"SELECT 1 -- done;":       "SELECT 1 -- done",
	} {
		if got := sqltext.TrimStatement(in); got != want {
			t.Errorf("TrimStatement(%q) = %q, want %q", in, got, want)
		}
	}
}
