package pipeline_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/demo"
	"github.com/countydatasync/countysync/internal/open"
	"github.com/countydatasync/countysync/internal/pipeline"
)

// Links planted in .countysync/ are never followed (red-team S1): not at a
// lock file (the red-team's victim got the lock owner written into it),
// not at a folder a snapshot is stored in, not at .countysync itself. The
// victims are read back byte for byte.
func TestPlantedLinksInStateFolderAreNotFollowed(t *testing.T) {
	ctx := context.Background()
	victimDir := t.TempDir()
	victim := filepath.Join(victimDir, "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T) {
		t.Helper()
		if b, err := os.ReadFile(victim); err != nil || string(b) != "precious" {
			t.Errorf("victim file written: %q, %v", b, err)
		}
		if ents, _ := os.ReadDir(victimDir); len(ents) != 1 {
			t.Errorf("files created in the victim folder: %v", ents)
		}
	}

	t.Run("lock file", func(t *testing.T) {
		env, dir := demoEnv(t)
		locks := filepath.Join(dir, "exports", ".countysync", "locks")
		os.MkdirAll(locks, 0o755)
		if err := os.Symlink(victim, filepath.Join(locks, "parcels.lock")); err != nil {
			t.Fatal(err)
		}
		rep, err := pipeline.Run(ctx, env, pipeline.Options{Datasets: []string{"parcels"}})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Success || !strings.Contains(rep.Error, "symbolic link") {
			t.Errorf("run with a link at the lock file: success=%v, error %q", rep.Success, rep.Error)
		}
		check(t)
	})
	t.Run("snapshot folder", func(t *testing.T) {
		env, dir := demoEnv(t)
		state := filepath.Join(dir, "exports", ".countysync")
		if err := os.Symlink(victimDir, filepath.Join(state, "snapshots")); err != nil {
			t.Fatal(err)
		}
		rep, err := pipeline.Run(ctx, env, pipeline.Options{Datasets: []string{"parcels"}})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Success || !strings.Contains(rep.Error, "symbolic link") {
			t.Errorf("run with .countysync/snapshots a link: success=%v, error %q", rep.Success, rep.Error)
		}
		check(t)
	})
	t.Run("state folder", func(t *testing.T) {
		dir := t.TempDir()
		cfgPath, err := demo.Write(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(dir, "exports"), 0o755)
		if err := os.Symlink(victimDir, filepath.Join(dir, "exports", ".countysync")); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		_, closeEnv, err := open.Env(ctx, cfg, testLogger(t), open.Options{Source: true})
		if err == nil {
			closeEnv()
			t.Fatal("an export directory whose .countysync is a link was opened")
		}
		if !strings.Contains(err.Error(), "symbolic link") {
			t.Errorf("error %q does not say why", err)
		}
		check(t)
	})
}
