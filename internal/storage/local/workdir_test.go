package local_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/storage/local"
)

// childEnv names the export directory a child process of this test binary
// opens a store on; it then writes a file into its work folder, prints the
// folder and waits to be killed.
const childEnv = "COUNTYSYNC_TEST_LOCAL_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		s, err := local.Open(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		if err := os.WriteFile(filepath.Join(s.WorkDir(), "render.csv"), make([]byte, 1<<20), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		fmt.Println(s.WorkDir())
		select {} // until killed
	}
	os.Exit(m.Run())
}

// startOwner starts a process that opens a store on dir and returns it
// with its work folder.
func startOwner(t *testing.T, dir string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	return cmd, strings.TrimSpace(line)
}

// A killed run's work folder is removed by the next Open, a live
// process's is kept, and an older version's files are removed once a day
// old (red-team H3).
func TestOpenRemovesKilledOwnersWorkFolder(t *testing.T) {
	dir := t.TempDir()
	killed, deadWork := startOwner(t, dir)
	_, liveWork := startOwner(t, dir)
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
