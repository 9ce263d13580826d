package sqlite

import (
	"database/sql"
	"sync"

	"github.com/mattn/go-sqlite3"
)

// driverName is the database/sql driver of the source: go-sqlite3 with an
// authorizer on every connection (see readOnly).
const driverName = "sqlite3_countysync_source"

var registerOnce sync.Once

func registerDriver() {
	registerOnce.Do(func() {
		sql.Register(driverName, &sqlite3.SQLiteDriver{
			ConnectHook: func(c *sqlite3.SQLiteConn) error {
				c.RegisterAuthorizer(readOnly)
				return nil
			},
		})
	})
}

// sqliteRecursive is SQLITE_RECURSIVE (a recursive common table
// expression), which go-sqlite3 does not export.
const sqliteRecursive = 33

// readOnly is the source's authorizer: a dataset query may read tables,
// call functions, use recursive CTEs and read pragmas, and nothing else.
// ATTACH and DETACH (which would open another file, read-write), every
// write, schema change, transaction, savepoint and pragma assignment is
// refused when the statement is prepared, before it runs. The connection
// is also opened with mode=ro and query_only, so this is the second of
// three locks.
func readOnly(op int, arg1, arg2, _ string) int {
	switch op {
	case sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqliteRecursive:
		return sqlite3.SQLITE_OK
	case sqlite3.SQLITE_PRAGMA:
		if arg2 == "" { // reading a pragma, not setting one
			return sqlite3.SQLITE_OK
		}
	}
	return sqlite3.SQLITE_DENY
}
