package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/mattn/go-sqlite3"

	"github.com/countydatasync/countysync/internal/source"
)

// Source is an open SQLite database file, read-only. It is safe for
// concurrent use.
type Source struct {
	db   *sql.DB
	path string
	log  *slog.Logger
}

var _ source.Source = (*Source)(nil)

// Open opens the SQLite database at path read-only. A missing file, a
// directory, or a file that is not a SQLite database is an error wrapping
// source.ErrUnreachable that names the path; the file is never created. A
// nil log discards log output.
func Open(ctx context.Context, path string, log *slog.Logger) (*Source, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite source: open %s: %w: %w", path, source.ErrUnreachable, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("sqlite source: open %s: %w: is a directory", path, source.ErrUnreachable)
	}
	// Read-only three times over: the file is opened read-only, the
	// connection refuses writes (query_only), and an authorizer refuses
	// ATTACH, DETACH and every writing statement (readonly.go).
	registerDriver()
	db, err := sql.Open(driverName, "file:"+escapePath(path)+"?mode=ro&_query_only=1&_busy_timeout=5000")
	if err != nil {
		return nil, fmt.Errorf("sqlite source: open %s: %w: %w", path, source.ErrUnreachable, err)
	}
	var n int64
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
		_ = db.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("sqlite source: open %s: %w", path, ctx.Err())
		}
		return nil, fmt.Errorf("sqlite source: open %s: %w: %w", path, source.ErrUnreachable, err)
	}
	log.Debug("sqlite source opened", "path", path, "schema_objects", n)
	return &Source{db: db, path: path, log: log}, nil
}

// escapePath makes a file path safe inside a "file:" URI.
func escapePath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
}

// Close closes the database.
func (s *Source) Close() error { return s.db.Close() }

// String returns the database path.
func (s *Source) String() string { return s.path }

// queryError wraps a database error: busy, locked, I/O and similar errors
// wrap source.ErrUnreachable, everything else source.ErrQuery.
func (s *Source) queryError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("sqlite source %s: %w", s.path, ctx.Err())
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrAuth:
			return fmt.Errorf("sqlite source %s: %w: the query may only read (ATTACH, DETACH, writes and pragma assignments are refused): %w", s.path, source.ErrQuery, err)
		case sqlite3.ErrBusy, sqlite3.ErrLocked, sqlite3.ErrIoErr, sqlite3.ErrCantOpen,
			sqlite3.ErrCorrupt, sqlite3.ErrNotADB, sqlite3.ErrNomem, sqlite3.ErrProtocol:
			return fmt.Errorf("sqlite source %s: %w: %w", s.path, source.ErrUnreachable, err)
		}
	}
	return fmt.Errorf("sqlite source %s: %w: %w", s.path, source.ErrQuery, err)
}
