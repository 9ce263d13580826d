package pipeline_test

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/demo"
	"github.com/countydatasync/countysync/internal/open"
	"github.com/countydatasync/countysync/internal/pipeline"
)

// testLogger sends logs to t.Log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

// newEnv loads cfgText (written to dir/cs.yaml) and opens its edges.
func newEnv(t testing.TB, dir, cfgText string) *pipeline.Env {
	t.Helper()
	path := filepath.Join(dir, "cs.yaml")
	if err := os.WriteFile(path, []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return openEnv(t, cfg)
}

func openEnv(t testing.TB, cfg *config.Config) *pipeline.Env {
	t.Helper()
	env, closeEnv, err := open.Env(context.Background(), cfg, testLogger(t), open.Options{Source: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeEnv)
	return env
}

func mustRun(t testing.TB, env *pipeline.Env, opts pipeline.Options) *pipeline.Report {
	t.Helper()
	rep, err := pipeline.Run(context.Background(), env, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Success {
		t.Fatalf("job failed: %s", rep.Error)
	}
	return rep
}

func artifact(t testing.TB, rep *pipeline.Report, dataset, format string) *pipeline.Artifact {
	t.Helper()
	for _, d := range rep.Datasets {
		if d.Name != dataset {
			continue
		}
		for _, a := range d.Artifacts {
			if a.Format == format {
				return a
			}
		}
	}
	t.Fatalf("no %s artifact of %s in report", format, dataset)
	return nil
}

// readCSV parses a CSV file with encoding/csv, the independent reader.
func readCSV(t testing.TB, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return recs
}

// readJSON decodes a JSON file with numbers kept as json.Number.
func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("%s: data after the JSON value", path)
	}
}

// openSQLite opens an exported SQLite file read-only.
func openSQLite(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// demoEnv writes the demo county into a temporary directory and opens its
// config; it returns the env and the directory.
func demoEnv(t testing.TB) (*pipeline.Env, string) {
	t.Helper()
	dir := t.TempDir()
	cfgPath, err := demo.Write(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	return newEnv(t, dir, string(text)), dir
}
