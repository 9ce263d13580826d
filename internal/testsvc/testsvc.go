package testsvc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Need returns the value of the environment variable env, or skips the test
// (fails it under CI=true) when it is unset.
func Need(t testing.TB, env string) string {
	t.Helper()
	v := os.Getenv(env)
	if v != "" {
		return v
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not set: under CI=true integration tests must run (start the services with `make services`)", env)
	}
	t.Skipf("%s is not set; run `make test` to start the services", env)
	return ""
}

// RandomName returns prefix followed by 12 random hex characters.
func RandomName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// PG creates a fresh database with the PostGIS extension on the server named
// by COUNTYSYNC_TEST_PG, drops it when the test ends, and returns its URL.
func PG(t testing.TB) string {
	t.Helper()
	admin := Need(t, "COUNTYSYNC_TEST_PG")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to COUNTYSYNC_TEST_PG: %v", err)
	}
	defer conn.Close(ctx)
	name := RandomName("cstest_")
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Logf("drop test database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	url := withDatabase(admin, name)
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect to test database: %v", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS postgis"); err != nil {
		t.Fatalf("create extension postgis (is postgresql-15-postgis-3 installed?): %v", err)
	}
	return url
}

// PGExec runs SQL statements against the database at url.
func PGExec(t testing.TB, url string, stmts ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer c.Close(ctx)
	for _, s := range stmts {
		if _, err := c.Exec(ctx, s); err != nil {
			t.Fatalf("exec %q: %v", s, err)
		}
	}
}

// withDatabase replaces the database name in a postgres:// URL.
func withDatabase(url, db string) string {
	rest := url
	query := ""
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest, query = rest[:i], rest[i:]
	}
	scheme := ""
	if i := strings.Index(rest, "://"); i >= 0 {
		scheme, rest = rest[:i+3], rest[i+3:]
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		rest = rest[:i]
	}
	return scheme + rest + "/" + db + query
}

// PGQueryRow runs a query that returns one row and scans it into dest.
func PGQueryRow(t testing.TB, url, query string, dest ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer c.Close(ctx)
	if err := c.QueryRow(ctx, query).Scan(dest...); err != nil {
		t.Fatalf("query %q: %v", query, err)
	}
}
