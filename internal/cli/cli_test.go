package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countydatasync/countysync/internal/demo"
	"github.com/countydatasync/countysync/internal/testsvc"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = Main(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

// lastLine returns the final line of stderr: the one-line error.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// noFinalFiles fails if dir holds any published artifact.
func noFinalFiles(t *testing.T, dir string) {
	t.Helper()
	for _, ext := range []string{"csv", "json", "geojson", "sqlite"} {
		matches, _ := filepath.Glob(filepath.Join(dir, "*."+ext))
		if len(matches) > 0 {
			t.Errorf("files under final names after a failed run: %v", matches)
		}
	}
}

func TestDemoCommand(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := run(t, "demo", "--dir", dir)
	if code != 0 {
		t.Fatalf("demo exit %d: %s", code, errOut)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, out)
	}
	if rep["success"] != true {
		t.Fatalf("report: %v", rep)
	}
	for _, want := range []string{"starting job", "extracting", "exported", "parcels.geojson -> parcels_"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(demo.Config), 0o644)
	if code, out, e := run(t, "validate", "--config", cfg); code != 0 || !strings.Contains(out, "ok (2 datasets)") {
		t.Fatalf("validate: %d %s %s", code, out, e)
	}
}

// validate warns about an incremental dataset whose late commits nothing
// protects (a SQLite source without lookback), and only about that one.
func TestValidateWarnsAboutUnprotectedCursors(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(`source: {url: sqlite://x.db}
datasets:
  - {name: bare, query: SELECT * FROM t, key_columns: [id], incremental: {column: id}}
  - {name: slack, query: SELECT * FROM t, key_columns: [id], incremental: {column: ts, lookback: 5m}}
  - {name: full, query: SELECT * FROM t, key_columns: [id]}
`), 0o644)
	code, _, e := run(t, "validate", "--config", cfg)
	if code != 0 || !strings.Contains(e, "warning: dataset bare: incremental on id") || strings.Contains(e, "dataset slack") || strings.Contains(e, "dataset full") {
		t.Errorf("validate: exit %d, stderr %s", code, e)
	}
	os.WriteFile(cfg, []byte(`source: {url: "postgres://u@127.0.0.1/db"}
datasets:
  - {name: bare, query: SELECT * FROM t, key_columns: [id], incremental: {column: id}}
`), 0o644)
	if code, _, e := run(t, "validate", "--config", cfg); code != 0 || strings.Contains(e, "warning") {
		t.Errorf("validate, PostgreSQL source (protected by the transaction horizon): exit %d, stderr %s", code, e)
	}
}

func TestFailuresExitNonZeroWithOneClearLine(t *testing.T) {
	dir := t.TempDir()
	if _, err := demo.Write(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o644)
		return p
	}
	plainFile := write("plain", "")
	cases := []struct {
		name     string
		args     []string
		code     int
		contains []string
	}{
		{"bad config", []string{"run", "--config", write("bad.yaml", "source: {url: \"sqlite://county-demo.sqlite\"}\ndatasets:\n  - name: x\n    quer: SELECT 1\n")},
			ExitUsage, []string{"bad.yaml:4:", `unknown key "quer"`}},
		{"missing config", []string{"run", "--config", filepath.Join(dir, "nope.yaml")}, ExitUsage, []string{"nope.yaml"}},
		{"unreachable database", []string{"run", "--config", write("pg.yaml", "source: {url: \"postgres://county:hunter2@127.0.0.1:1/county?connect_timeout=2\"}\ndatasets: [{name: a, query: SELECT 1}]\n")},
			ExitFailed, []string{"127.0.0.1:1"}},
		{"missing sqlite file", []string{"run", "--config", write("nofile.yaml", "source: {url: \"sqlite://missing.sqlite\"}\ndatasets: [{name: a, query: SELECT 1}]\n")},
			ExitFailed, []string{"missing.sqlite"}},
		{"query error", []string{"run", "--config", write("q.yaml", "source: {url: \"sqlite://county-demo.sqlite\"}\ndatasets: [{name: broken, query: SELECT * FROM no_such_table}]\n")},
			ExitFailed, []string{"broken", "no_such_table"}},
		{"unwritable export dir", []string{"run", "--config", write("ok.yaml", demo.Config), "--export-dir", filepath.Join(plainFile, "exports")},
			ExitFailed, []string{"export directory", "plain"}},
		{"unknown dataset", []string{"run", "--config", write("ok2.yaml", demo.Config), "--dataset", "nope"}, ExitUsage, []string{"unknown dataset nope"}},
		{"unknown flag", []string{"run", "--confg", "x"}, ExitUsage, []string{"unknown flag"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := run(t, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, c.code, errOut)
			}
			line := lastLine(errOut)
			if !strings.HasPrefix(line, "countysync: ") {
				t.Errorf("last stderr line %q is not the error", line)
			}
			for _, w := range c.contains {
				if !strings.Contains(line, w) {
					t.Errorf("error line %q lacks %q", line, w)
				}
			}
			if strings.Contains(errOut, "hunter2") {
				t.Errorf("password in stderr: %s", errOut)
			}
		})
	}
	noFinalFiles(t, filepath.Join(dir, "exports"))
}

// verify exits 0 with a summary after a run, and 1 with one line per
// problem once a published file has changed.
func TestVerifyCommand(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := run(t, "demo", "--dir", dir); code != 0 {
		t.Fatalf("demo exit %d: %s", code, errOut)
	}
	cfg := filepath.Join(dir, demo.ConfigFile)
	code, out, errOut := run(t, "verify", "--config", cfg)
	if code != 0 || !strings.HasPrefix(out, "verify: ok: 7 files of 2 datasets") {
		t.Fatalf("verify exit %d:\n%s\n%s", code, out, errOut)
	}
	target, err := os.Readlink(filepath.Join(dir, "exports", "permits.csv"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "exports", target), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("9999,extra\n")
	f.Close()
	code, out, _ = run(t, "verify", "--config", cfg, "--dataset", "permits")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 1 || len(lines) != 5 || !strings.HasPrefix(lines[4], "verify: 4 problems; 3 files and 3 latest names read") {
		t.Fatalf("verify after an append: exit %d\n%s", code, out)
	}
	for i, kind := range []string{"size: " + target, "sha256: " + target, "rows: " + target, "latest: permits.csv"} {
		if !strings.HasPrefix(lines[i], kind) {
			t.Errorf("line %d: %q, want it to start with %q", i+1, lines[i], kind)
		}
	}
	if code, _, errOut := run(t, "verify", "--config", cfg, "--job", "etl_20000101_000000"); code != 1 || !strings.Contains(lastLine(errOut), "no manifest of job etl_20000101_000000") {
		t.Fatalf("verify of an unknown job: exit %d, %s", code, errOut)
	}
}

// gc lists a stray old file without deleting it, deletes it with
// --apply, and refuses a protection window under an hour.
func TestGCCommand(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := run(t, "demo", "--dir", dir); code != 0 {
		t.Fatalf("demo exit %d: %s", code, errOut)
	}
	cfg := filepath.Join(dir, demo.ConfigFile)
	stray := filepath.Join(dir, "exports", "parcels_20000101_000000.csv")
	if err := os.WriteFile(stray, []byte("id\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "gc", "--config", cfg)
	if code != 0 || out != "would delete parcels_20000101_000000.csv (timestamped file no manifest lists)\n"+
		"gc: 1 objects older than 24h0m0s that nothing references; run with --apply to delete them\n" {
		t.Fatalf("gc exit %d:\n%s\n%s", code, out, errOut)
	}
	if _, err := os.Stat(stray); err != nil {
		t.Fatalf("a dry run deleted: %v", err)
	}
	if code, out, errOut = run(t, "gc", "--config", cfg, "--apply"); code != 0 || !strings.HasSuffix(out, "gc: deleted 1 objects\n") {
		t.Fatalf("gc --apply exit %d:\n%s\n%s", code, out, errOut)
	}
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Fatalf("stray file after --apply: %v", err)
	}
	if code, _, _ := run(t, "verify", "--config", cfg); code != 0 {
		t.Fatalf("verify after gc: exit %d", code)
	}
	if code, _, _ := run(t, "gc", "--config", cfg, "--older-than", "5m"); code != 2 {
		t.Fatalf("gc --older-than 5m: exit %d, want 2", code)
	}
}

// A job that cannot start exits 2 for bad options (a format listed twice,
// red-team H2: the distributed job waited for ever) and 1 for a failing
// infrastructure (red-team U2: a storage that cannot take the job's
// manifest exited 2, "bad usage"). Neither leaves a file under a final
// name.
func TestStartFailuresExitCodes(t *testing.T) {
	dir := t.TempDir()
	cfg, err := demo.Write(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	code, _, errOut := run(t, "run", "--config", cfg, "--formats", "csv,json,csv")
	if code != ExitUsage || !strings.Contains(lastLine(errOut), "--formats lists csv twice") {
		t.Errorf("run --formats csv,json,csv: exit %d, %q", code, lastLine(errOut))
	}
	noFinalFiles(t, filepath.Join(dir, "exports"))

	// manifests/ is a file: the job's id cannot be claimed.
	os.MkdirAll(filepath.Join(dir, "exports"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "exports", "manifests"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "run", "--config", cfg)
	if code != ExitFailed || !strings.Contains(lastLine(errOut), "infrastructure") || !strings.Contains(lastLine(errOut), "manifests") {
		t.Errorf("run with an unwritable manifests folder: exit %d, %q", code, lastLine(errOut))
	}
	if out != "" {
		t.Errorf("stdout: %q", out)
	}
	noFinalFiles(t, filepath.Join(dir, "exports"))
}

// enqueue refuses a format listed twice too, before a job exists.
func TestEnqueueRefusesAFormatTwice(t *testing.T) {
	redisURL := testsvc.Redis(t)
	dir := t.TempDir()
	cfg, err := demo.Write(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := os.ReadFile(cfg)
	text = append(text, "state:\n  url: "+redisURL+"\n  prefix: "+testsvc.RandomName("cli")+"\n"...)
	os.WriteFile(cfg, text, 0o644)
	code, out, errOut := run(t, "enqueue", "--config", cfg, "--formats", "csv,csv")
	if code != ExitUsage || !strings.Contains(lastLine(errOut), "--formats lists csv twice") || out != "" {
		t.Errorf("enqueue --formats csv,csv: exit %d, stdout %q, %q", code, out, lastLine(errOut))
	}
}

// status (like the dashboard) reads only the job records: a config whose
// source needs an unset ${DB_PASSWORD} still loads, while run refuses it
// (red-team U3).
func TestStatusNeedsNoSourceVariables(t *testing.T) {
	redisURL := testsvc.Redis(t)
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	text := "source: {url: \"postgres://county:${CS_TEST_UNSET_PASSWORD}@127.0.0.1/county\"}\n" +
		"state: {url: \"" + redisURL + "\", prefix: " + testsvc.RandomName("cs") + "}\n" +
		"datasets: [{name: a, query: \"SELECT 1 AS id\"}]\n"
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := run(t, "status", "--config", cfg, "etl_20200101_000000")
	if strings.Contains(errOut, "CS_TEST_UNSET_PASSWORD") || code == ExitUsage {
		t.Errorf("status: exit %d, %q", code, lastLine(errOut))
	}
	if !strings.Contains(lastLine(errOut), "etl_20200101_000000") {
		t.Errorf("status of an unknown job: exit %d, %q", code, lastLine(errOut))
	}
	code, _, errOut = run(t, "run", "--config", cfg)
	if code != ExitUsage || !strings.Contains(lastLine(errOut), "CS_TEST_UNSET_PASSWORD is not set") {
		t.Errorf("run: exit %d, %q", code, lastLine(errOut))
	}
}
