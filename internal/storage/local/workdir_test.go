package local_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/storage"
	"github.com/countydatasync/countysync/internal/storage/local"
	"github.com/countydatasync/countysync/internal/storage/storagetest"
)

// childEnv names the export directory a child process of this test binary
// opens a store on; it then writes a file into its work folder, prints the
// folder and waits to be killed.
const childEnv = "COUNTYSYNC_TEST_LOCAL_CHILD"

func TestMain(m *testing.M) {
	storagetest.OwnerMain(childEnv, "render.csv", func(dir string) (storage.Store, error) { return local.Open(dir) })
	os.Exit(m.Run())
}

// A killed run's work folder is removed by the next Open, a live
// process's is kept, and an older version's files are removed once a day
// old (red-team H3).
func TestOpenRemovesKilledOwnersWorkFolder(t *testing.T) {
	dir := t.TempDir()
	killed, deadWork := storagetest.StartOwner(t, childEnv, dir)
	_, liveWork := storagetest.StartOwner(t, childEnv, dir)
	if filepath.Dir(deadWork) != filepath.Join(dir, ".countysync", "tmp") || deadWork == liveWork {
		t.Fatalf("work folders %s and %s, want two under %s/.countysync/tmp", deadWork, liveWork, dir)
	}
	if err := killed.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed.Wait()
	if _, err := os.Stat(filepath.Join(deadWork, "render.csv")); err != nil {
		t.Fatalf("the killed process's file should still be there before the next Open: %v", err)
	}
	// An older version's temporary files sit directly in .countysync/tmp.
	tmp := filepath.Dir(deadWork)
	old, fresh := filepath.Join(tmp, "etl_1-parcels-1.csv"), filepath.Join(tmp, "etl_2-parcels-2.csv")
	for _, p := range []string{old, fresh, filepath.Join(tmp, "snapshots", "parcels.sqlite")} {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	day := time.Now().Add(-25 * time.Hour)
	for _, p := range []string{old, filepath.Join(tmp, "snapshots", "parcels.sqlite"), filepath.Join(tmp, "snapshots")} {
		if err := os.Chtimes(p, day, day); err != nil {
			t.Fatal(err)
		}
	}

	s, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, p := range []string{deadWork, old, filepath.Join(tmp, "snapshots")} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s was not removed (%v)", p, err)
		}
	}
	for _, p := range []string{filepath.Join(liveWork, "render.csv"), fresh} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
	if got := s.Swept(); len(got) != 3 {
		t.Errorf("Swept() = %v, want the dead folder, the old file and the old snapshots folder", got)
	}
	work := s.WorkDir()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(work); !os.IsNotExist(err) {
		t.Errorf("Close left the work folder %s (%v)", work, err)
	}
}
