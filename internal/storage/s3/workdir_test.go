package s3_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/countydatasync/countysync/internal/storage"
	"github.com/countydatasync/countysync/internal/storage/s3"
	"github.com/countydatasync/countysync/internal/storage/storagetest"
	"github.com/countydatasync/countysync/internal/testsvc"
)

// childEnv holds the URL a child process of this test binary opens a
// store on; it then writes a file into its work folder, prints the folder
// and waits to be killed.
const childEnv = "COUNTYSYNC_TEST_S3_CHILD"

func TestMain(m *testing.M) {
	storagetest.OwnerMain(childEnv, "parcels.snapshot.sqlite", func(u string) (storage.Store, error) {
		return s3.Open(context.Background(), u, nil)
	})
	os.Exit(m.Run())
}

// A worker SIGKILLed mid-task leaves its countysync-s3-* folder in the
// temp folder; the next store opened on the machine removes it, and
// keeps a live worker's (red-team H3).
func TestOpenRemovesKilledOwnersWorkFolder(t *testing.T) {
	u := testsvc.S3(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // os.TempDir, here and in the children
	killed, dead := storagetest.StartOwner(t, childEnv, u)
	_, live := storagetest.StartOwner(t, childEnv, u)
	if filepath.Dir(dead) != tmp || !strings.HasPrefix(filepath.Base(dead), "countysync-s3-") {
		t.Fatalf("work folder %s, want countysync-s3-* in %s", dead, tmp)
	}
	if err := killed.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed.Wait()
	// Someone else's folder in the temp folder is no business of ours.
	other := filepath.Join(tmp, "other-tool-1")
	if err := os.Mkdir(other, 0o700); err != nil {
		t.Fatal(err)
	}

	st, err := s3.Open(context.Background(), u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := os.Lstat(dead); !os.IsNotExist(err) {
		t.Errorf("the killed process's work folder %s is still there (%v)", dead, err)
	}
	for _, p := range []string{filepath.Join(live, "parcels.snapshot.sqlite"), other} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
}
