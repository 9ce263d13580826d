package pipeline_test

import (
	"context"
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countydatasync/countysync/internal/demo"
	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/storage"
	"github.com/countydatasync/countysync/internal/testsvc"
)

// oneLinkFailingStore fails every Link of one latest name: the name
// cannot move (a directory in its place, a quota, EPERM).
type oneLinkFailingStore struct {
	storage.Store
	latest string
}

func (s oneLinkFailingStore) Link(ctx context.Context, latest, target string) error {
	if latest == s.latest {
		return errInjected
	}
	return s.Store.Link(ctx, latest, target)
}

// When one latest name of a dataset cannot move, the names that did move
// are moved back: a reader sees every latest name of the previous run,
// each a whole file, never a mix and never a dangling name (red-team D5).
// Locally the name is blocked the way the report did it, by a directory
// in its place; on S3 by a store that fails that one Link. The contents
// are compared with the previous run's timestamped files, read as bytes.
func TestLatestNamesMoveAllOrNothing(t *testing.T) {
	for _, where := range []string{"local", "s3"} {
		t.Run(where, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			cfgPath, err := demo.Write(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			text, err := os.ReadFile(cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			cfg := string(text)
			if where == "s3" {
				cfg = strings.Replace(cfg, "url: file://./exports", "url: "+testsvc.S3(t)+"\nstate:\n  url: file://./state", 1)
			}
			env := newEnv(t, dir, cfg)
			opts := pipeline.Options{Datasets: []string{"permits"}, Formats: []string{"sqlite", "csv", "json"}}
			first := mustRun(t, env, opts)
			read := func(key string) []byte {
				t.Helper()
				rc, err := env.Store.Open(ctx, key)
				if err != nil {
					t.Fatalf("read %s: %v", key, err)
				}
				defer rc.Close()
				b, err := io.ReadAll(rc)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			before := map[string][]byte{}
			for _, f := range opts.Formats {
				before[f] = read(artifact(t, first, "permits", f).Key)
			}

			// The second run has other rows, and its json name cannot move.
			db, err := sql.Open("sqlite3", filepath.Join(dir, demo.DatabaseFile))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`UPDATE permits SET status = 'changed by the second run' WHERE id = 1`); err != nil {
				t.Fatal(err)
			}
			db.Close()
			if where == "local" {
				latest := filepath.Join(dir, "exports", "permits.json")
				if err := os.Remove(latest); err != nil {
					t.Fatal(err)
				}
				if err := os.MkdirAll(filepath.Join(latest, "sub"), 0o755); err != nil {
					t.Fatal(err)
				}
			} else {
				env.Store = oneLinkFailingStore{Store: env.Store, latest: "permits.json"}
			}
			rep, err := pipeline.Run(ctx, env, opts)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Success {
				t.Fatal("the run whose json latest name cannot move succeeded")
			}
			for _, f := range []string{"sqlite", "csv"} {
				got := read("permits." + f)
				if string(got) != string(before[f]) {
					t.Errorf("latest permits.%s after the failed run is not the previous run's file (%d bytes, want %d)", f, len(got), len(before[f]))
				}
			}
			if where == "s3" {
				if got := read("permits.json"); string(got) != string(before["json"]) {
					t.Error("latest permits.json changed")
				}
			}

			// Once the name can move again, the next run moves them all.
			if where == "local" {
				if err := os.RemoveAll(filepath.Join(dir, "exports", "permits.json")); err != nil {
					t.Fatal(err)
				}
			} else {
				env.Store = env.Store.(oneLinkFailingStore).Store
			}
			third := mustRun(t, env, opts)
			for _, f := range opts.Formats {
				if got, want := read("permits."+f), read(artifact(t, third, "permits", f).Key); string(got) != string(want) {
					t.Errorf("latest permits.%s is not the third run's file", f)
				}
				if f == "csv" && !strings.Contains(string(read("permits.csv")), "CHANGED BY THE SECOND RUN") {
					t.Error("the third run's csv lacks the changed row")
				}
			}
		})
	}
}
