package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

const good = `source:
  url: postgres://county:${DB_PASSWORD}@db.example:5432/county?sslmode=require
storage:
  url: file://./exports
formats: [sqlite, csv, json, geojson]
datasets:
  - name: stats
    query: SELECT * FROM statistics
    key_columns: [id]
    incremental: {column: updated_at, lookback: 5m, deleted_column: is_deleted}
    transformations: {amount: "round(value, 2)", status: "upper(value)"}
    formats: [sqlite, csv, json]
  - name: parcels
    query: SELECT * FROM parcels WHERE price > $$1
    key_columns: [id]
    geometry: {column: geom}
  - name: working
    query: SELECT 1
`

func TestParseGood(t *testing.T) {
	cfg, err := Parse("/etc/county/cs.yaml", []byte(good), env(map[string]string{"DB_PASSWORD": "s3cret"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Source.URL; got != "postgres://county:s3cret@db.example:5432/county?sslmode=require" {
		t.Errorf("source url = %q", got)
	}
	if got := cfg.Storage.URL; got != "file:///etc/county/exports" {
		t.Errorf("storage url = %q, want it resolved against the config's folder", got)
	}
	stats := cfg.Dataset("stats")
	if stats.Incremental.Lookback.D() != 5*time.Minute || stats.Incremental.NullCursor != "include" {
		t.Errorf("incremental = %+v", stats.Incremental)
	}
	if stats.Line != 7 {
		t.Errorf("stats line = %d, want 7", stats.Line)
	}
	if stats.Transform == nil || stats.Transform.Len() != 2 {
		t.Errorf("transformations not compiled: %+v", stats.Transform)
	}
	if got := strings.Join(cfg.Dataset("parcels").Formats, ","); got != "sqlite,csv,json,geojson" {
		t.Errorf("parcels formats = %s", got)
	}
	// geojson is dropped from the defaults of a dataset without geometry.
	if got := strings.Join(cfg.Dataset("working").Formats, ","); got != "sqlite,csv,json" {
		t.Errorf("working formats = %s", got)
	}
	if q := cfg.Dataset("parcels").Query; !strings.Contains(q, "> $1") {
		t.Errorf("$$ not unescaped: %q", q)
	}
	if cfg.Dataset("parcels").Geometry.Precision != 7 {
		t.Errorf("default precision = %d", cfg.Dataset("parcels").Geometry.Precision)
	}
}

func TestEnvOverridesAndDefaults(t *testing.T) {
	cfg, err := Parse("", []byte(good), env(map[string]string{
		"DB_PASSWORD":        "x",
		EnvSourceURL:         "sqlite:///data/county.db",
		EnvStorageURL:        "s3://bucket/prefix?endpoint=127.0.0.1:9000",
		EnvRedisURL:          "redis://127.0.0.1:6379/3",
		"UNRELATED_VARIABLE": "y",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Source.URL != "sqlite:///data/county.db" || !strings.HasPrefix(cfg.Storage.URL, "s3://bucket") || cfg.State.URL != "redis://127.0.0.1:6379/3" {
		t.Errorf("overrides not applied: %+v %+v %+v", cfg.Source, cfg.Storage, cfg.State)
	}
	if cfg.State.LockWait.D() != 30*time.Second {
		t.Errorf("lock wait default = %s", cfg.State.LockWait.D())
	}
}

// Each bad config must fail with an error naming the file, the line and
// what is wrong.
func TestParseErrors(t *testing.T) {
	base := "source: {url: \"sqlite://c.db\"}\n"
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown top key", base + "datasets: [{name: a, query: q}]\nformat: [csv]\n", []string{"cs.yaml:3:", `unknown key "format"`}},
		{"unknown dataset key", base + "datasets:\n  - name: a\n    query: q\n    key_column: [id]\n", []string{"cs.yaml:5:", `unknown key "key_column" in a dataset`}},
		{"wrong type", base + "datasets:\n  - name: a\n    query: q\n    key_columns: id\n", []string{"cs.yaml:5:", "expected a list such as [a, b]", `"id"`}},
		{"bad name", base + "datasets:\n  - name: ../etc\n    query: q\n", []string{"cs.yaml:3:", `dataset "../etc"`, "must match"}},
		{"name with space", base + "datasets:\n  - name: my data\n    query: q\n", []string{"cs.yaml:3:", "must match"}},
		{"duplicate names", base + "datasets:\n  - name: a\n    query: q\n  - name: a\n    query: q\n", []string{"cs.yaml:5:", `dataset "a" is defined twice`}},
		{"missing query", base + "datasets:\n  - name: a\n", []string{"cs.yaml:3:", `dataset "a": query is required`}},
		{"no datasets", base, []string{"cs.yaml", "no datasets"}},
		{"bad transform", base + "datasets:\n  - name: a\n    query: q\n    transformations:\n      amount: \"rond(value, 2)\"\n", []string{"cs.yaml:6:", `dataset "a"`, "amount"}},
		{"bad format", base + "datasets:\n  - name: a\n    query: q\n    formats: [csv, xls]\n", []string{"cs.yaml:5:", `unknown format "xls"`}},
		{"geojson without geometry", base + "datasets:\n  - name: a\n    query: q\n    formats: [geojson]\n", []string{"cs.yaml:5:", "geojson needs a geometry column"}},
		{"gpkg without geometry", base + "datasets:\n  - name: a\n    query: q\n    formats: [csv, gpkg]\n", []string{"cs.yaml:5:", `dataset "a"`, "gpkg needs a geometry column"}},
		{"gpkg reserved name", base + "datasets:\n  - name: gpkg_parcels\n    query: q\n    geometry: {column: g}\n    formats: [gpkg]\n", []string{"cs.yaml:3:", `dataset "gpkg_parcels"`, "reserved"}},
		{"gpkg reserved name by default", base + "formats: [gpkg]\ndatasets:\n  - name: sqlite_x\n    query: q\n    geometry: {column: g}\n", []string{"cs.yaml:4:", `dataset "sqlite_x"`, "reserved"}},
		{"unknown format lists gpkg", base + "datasets:\n  - name: a\n    query: q\n    formats: [gkpg]\n", []string{"cs.yaml:5:", `unknown format "gkpg"`, "geojson, gpkg"}},
		{"bad lookback", base + "datasets:\n  - name: a\n    query: q\n    incremental: {column: u, lookback: 5 minutes}\n", []string{"cs.yaml:5:", "invalid duration"}},
		{"bad null policy", base + "datasets:\n  - name: a\n    query: q\n    key_columns: [id]\n    incremental: {column: u, null_cursor: maybe}\n", []string{"cs.yaml:6:", "null_cursor"}},
		{"missing env", "source: {url: \"postgres://u:${PGPASS}@h/db\"}\ndatasets: [{name: a, query: q}]\n", []string{"cs.yaml:1:", "PGPASS is not set"}},
		{"bad source scheme", "source: {url: \"mysql://u:hunter2@h/db\"}\ndatasets: [{name: a, query: q}]\n", []string{"cs.yaml:1:", "unsupported scheme"}},
		{"bad yaml", base + "datasets:\n  - name: a\n   query: q\n", []string{"cs.yaml:", "invalid YAML"}},
		{"empty", "", []string{"cs.yaml", "empty"}},
		{"bad cron", base + "datasets:\n  - name: a\n    query: q\n    schedule: \"61 * * * *\"\n", []string{"cs.yaml:5:", "schedule", "61"}},
		{"unknown queue", base + "worker: {queues: {exprt: 2}}\ndatasets: [{name: a, query: q}]\n", []string{"cs.yaml:2:", `unknown queue "exprt"`}},
		{"bad prefix", base + "state: {prefix: \"a b\"}\ndatasets: [{name: a, query: q}]\n", []string{"cs.yaml:2:", "state.prefix"}},
		{"stamp-like name", base + "datasets: [{name: parcels_20250101_120000, query: q}]\n", []string{"cs.yaml:", "_YYYYMMDD_HHMMSS"}},
		{"negative keep", base + "storage: {keep: -1}\ndatasets: [{name: a, query: q}]\n", []string{"cs.yaml:2:", "storage.keep"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("cs.yaml", []byte(c.yaml), env(nil))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error leaks the password: %q", err)
			}
		})
	}
}

func TestExpandEnv(t *testing.T) {
	look := env(map[string]string{"A": "1", "EMPTY": ""})
	cases := map[string]string{
		"x${A}y":                           "x1y",
		"${B:-def}":                        "def",
		"${EMPTY:-def}":                    "def",
		"${EMPTY}":                         "",
		"$$1 and $1":                       "$1 and $1",
		"no refs":                          "no refs",
		"# ${UNSET} in a comment\nx: ${A}": "# ${UNSET} in a comment\nx: 1",
		"  # indented ${UNSET}":            "  # indented ${UNSET}",
		"price > $2 ${A}":                  "price > $2 1",
	}
	for in, want := range cases {
		got, err := expandEnv("f", in, look)
		if err != nil || got != want {
			t.Errorf("expandEnv(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"${B}", "${", "${1X}"} {
		if _, err := expandEnv("f", bad, look); err == nil {
			t.Errorf("expandEnv(%q): no error", bad)
		}
	}
}

func TestLoadResolvesRelativeSQLite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	os.WriteFile(p, []byte("source: {url: \"sqlite://data/c.db\"}\ndatasets: [{name: a, query: q}]\n"), 0o644)
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := "sqlite://" + filepath.Join(dir, "data", "c.db"); cfg.Source.URL != want {
		t.Errorf("source = %q, want %q", cfg.Source.URL, want)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file error = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("source: {url: x}\ndatasets: [{name: a}]"))
	f.Add([]byte("${"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Parse("f.yaml", data, env(map[string]string{"DB_PASSWORD": "p"}))
	})
}

// A ${VAR} in source.url need not be set when COUNTYSYNC_SOURCE_URL
// replaces the value anyway; elsewhere it must.
func TestEnvOverrideForgivesMissingVariable(t *testing.T) {
	text := "source: {url: \"postgres://u:${DB_PASSWORD}@h/db\"}\ndatasets: [{name: a, query: q}]\n"
	cfg, err := Parse("c.yaml", []byte(text), env(map[string]string{EnvSourceURL: "postgres://u:p@h2/db"}))
	if err != nil || cfg.Source.URL != "postgres://u:p@h2/db" {
		t.Fatalf("override: %v %v", cfg, err)
	}
	if _, err := Parse("c.yaml", []byte(text), env(nil)); err == nil || !strings.Contains(err.Error(), "c.yaml:1: environment variable DB_PASSWORD is not set") {
		t.Fatalf("without override: %v", err)
	}
	other := "source: {url: \"sqlite://a.db\"}\ndatasets: [{name: a, query: \"SELECT ${TABLE}\"}]\n"
	if _, err := Parse("c.yaml", []byte(other), env(map[string]string{EnvSourceURL: "sqlite://b.db"})); err == nil {
		t.Fatal("a missing variable outside the overridden value was forgiven")
	}
}

// A command that never opens the source (dashboard, status) loads a
// config whose source needs a variable that is not set; every other
// section, and every other command, stays strict (red-team U3).
func TestUnusedSectionsForgiveMissingVariables(t *testing.T) {
	text := `source:
  url: "${DB_URL}"
storage:
  url: "s3://${BUCKET}/exports?endpoint=127.0.0.1:9000"
state:
  url: redis://127.0.0.1:6379/3
  prefix: county
datasets:
  - name: a
    query: q
`
	cfg, err := Parse("c.yaml", []byte(text), env(nil), Unused("source", "storage"))
	if err != nil {
		t.Fatalf("dashboard load: %v", err)
	}
	if cfg.State.URL != "redis://127.0.0.1:6379/3" || cfg.State.Prefix != "county" {
		t.Fatalf("state section: %+v", cfg.State)
	}
	if _, err := Parse("c.yaml", []byte(text), env(nil)); err == nil || !strings.Contains(err.Error(), "c.yaml:2: environment variable DB_URL is not set") {
		t.Fatalf("strict load: %v", err)
	}
	if _, err := Parse("c.yaml", []byte(text), env(nil), Unused("source")); err == nil || !strings.Contains(err.Error(), "c.yaml:4: environment variable BUCKET is not set") {
		t.Fatalf("storage is used: %v", err)
	}
	state := strings.Replace(text, "redis://127.0.0.1:6379/3", "redis://:${REDIS_PASSWORD}@127.0.0.1:6379/3", 1)
	if _, err := Parse("c.yaml", []byte(state), env(nil), Unused("source", "storage")); err == nil || !strings.Contains(err.Error(), "c.yaml:6: environment variable REDIS_PASSWORD is not set") {
		t.Fatalf("the state section is used: %v", err)
	}
	// With every variable set, an unused section is still validated.
	bad := "source: {url: \"mysql://${H}/db\"}\ndatasets: [{name: a, query: q}]\n"
	if _, err := Parse("c.yaml", []byte(bad), env(map[string]string{"H": "h"}), Unused("source")); err == nil || !strings.Contains(err.Error(), "source.url") {
		t.Fatalf("a set but wrong source: %v", err)
	}
	// A block scalar: its lines belong to the key above them.
	block := "datasets:\n  - name: a\n    query: |\n      SELECT 1\n      FROM ${T}\nsource: {url: \"${DB_URL}\"}\n"
	if _, err := Parse("c.yaml", []byte(block), env(nil), Unused("source")); err == nil || !strings.Contains(err.Error(), "c.yaml:5: environment variable T is not set") {
		t.Fatalf("a dataset's variable: %v", err)
	}
}
