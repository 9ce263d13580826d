package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countydatasync/countysync/internal/record"
	"github.com/countydatasync/countysync/internal/source"
	"github.com/countydatasync/countysync/internal/source/sourcetest"
	"github.com/countydatasync/countysync/internal/sqltext"
)

func TestConformance(t *testing.T) {
	sourcetest.Run(t, harness{})
}

// harness creates the suite's tables in a new database file.
type harness struct{}

// sqliteTypes are the declared column types per kind.
var sqliteTypes = map[record.Kind]string{
	record.Int:         "INTEGER",
	record.Text:        "TEXT",
	record.Numeric:     "NUMERIC",
	record.Timestamp:   "TIMESTAMP",
	record.TimestampTZ: "TIMESTAMPTZ",
	record.Bool:        "BOOLEAN",
}

func (harness) Open(t *testing.T, tables ...sourcetest.Table) source.Source {
	t.Helper()
	path := filepath.Join(t.TempDir(), "conformance.db")
	db, err := sql.Open("sqlite3", "file:"+escapePath(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tb := range tables {
		var cols, marks []string
		for _, c := range tb.Columns {
			typ, ok := sqliteTypes[c.Kind]
			if !ok {
				t.Fatalf("table %s: no SQLite type for kind %s", tb.Name, c.Kind)
			}
			cols = append(cols, sqltext.QuoteIdent(c.Name)+" "+typ)
			marks = append(marks, "?")
		}
		if _, err := db.Exec("CREATE TABLE " + sqltext.QuoteIdent(tb.Name) + " (" + strings.Join(cols, ", ") + ")"); err != nil {
			t.Fatal(err)
		}
		insert := "INSERT INTO " + sqltext.QuoteIdent(tb.Name) + " VALUES (" + strings.Join(marks, ", ") + ")"
		for _, row := range tb.Rows {
			args := make([]any, len(row))
			for i, v := range row {
				args[i] = sqliteArg(t, v)
			}
			if _, err := db.Exec(insert, args...); err != nil {
				t.Fatalf("%s %v: %v", insert, args, err)
			}
		}
	}
	src, err := Open(context.Background(), path, slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = src.Close() })
	return src
}

// sqliteArg is the value as SQLite stores it: timestamps as ISO 8601 text
// (with "Z" for an instant), booleans as 0 and 1, numerics as text that
// the NUMERIC affinity turns into a number.
func sqliteArg(t *testing.T, v record.Value) any {
	switch v.Kind {
	case record.Null:
		return nil
	case record.Int, record.Bool:
		return v.I
	case record.Text, record.Numeric:
		return v.S
	case record.Timestamp:
		return v.T.Format("2006-01-02T15:04:05.999999")
	case record.TimestampTZ:
		return v.T.UTC().Format("2006-01-02T15:04:05.999999Z07:00")
	}
	t.Fatalf("no SQLite value for kind %s", v.Kind)
	return fmt.Sprint(v)
}
