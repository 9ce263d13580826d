package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"

	_ "github.com/mattn/go-sqlite3" // database/sql driver "sqlite3"
)

// CreateDatabase writes a new SQLite database at path (replacing any file
// there) by running script, a list of SQL statements separated by
// semicolons, in one transaction. `countysync demo` and tests use it to
// build source databases; the file appears only when it is complete.
func CreateDatabase(ctx context.Context, path, script string) error {
	tmp := path + ".tmp"
	os.Remove(tmp)
	db, err := sql.Open("sqlite3", "file:"+tmp)
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, "BEGIN;\n"+script+";\nCOMMIT;")
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("create %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}
