package file_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/state"
	"github.com/countydatasync/countysync/internal/state/file"
	"github.com/countydatasync/countysync/internal/state/statetest"
)

// The test binary doubles as another process holding or taking a lock,
// when run with helperEnv set to "hold" or "try" (see helper).
const helperEnv = "COUNTYSYNC_FILE_LOCK_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode))
	}
	os.Exit(m.Run())
}

// helper opens the state file in $STATE, then
//   - hold: takes lock $NAME for $OWNER, prints "locked" and holds it
//     until its standard input closes;
//   - try: tries lock $NAME for $OWNER with no wait and prints the error.
func helper(mode string) int {
	s, err := file.Open(os.Getenv("STATE"))
	if err != nil {
		fmt.Println(err)
		return 2
	}
	ctx := context.Background()
	l, err := s.Lock(ctx, os.Getenv("NAME"), os.Getenv("OWNER"), 0)
	switch {
	case mode == "try" && err != nil:
		fmt.Println(err)
		if errors.Is(err, state.ErrLocked) {
			return 3
		}
		return 2
	case err != nil:
		fmt.Println(err)
		return 2
	}
	fmt.Println("locked")
	if mode == "hold" {
		_, _ = io.Copy(io.Discard, os.Stdin)
	}
	if err := l.Release(ctx); err != nil {
		fmt.Println(err)
		return 2
	}
	return 0
}

func openStore(t *testing.T) (*file.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), ".countysync", "state.json")
	s, err := file.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return s, path
}

func TestConformance(t *testing.T) {
	statetest.Run(t, func(t *testing.T) state.Store {
		s, _ := openStore(t)
		return s
	}, statetest.Options{})
}

// helperCmd returns the test binary run as a helper process.
func helperCmd(t *testing.T, mode, statePath, name, owner string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "STATE="+statePath, "NAME="+name, "OWNER="+owner)
	return cmd
}

func TestLockAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	s, path := openStore(t)
	const name = "render:etl_20250101_000000:parcels:csv"

	// Another process takes the lock and holds it.
	holder := helperCmd(t, "hold", path, name, "etl_other")
	stdin, err := holder.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = holder.Process.Kill()
		_ = holder.Wait()
	})
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- strings.TrimSpace(l)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case l := <-line:
		if l != "locked" {
			t.Fatalf("helper: %q", l)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("helper did not take the lock")
	}

	// This process waits, then is refused with the holder's name.
	start := time.Now()
	_, err = s.Lock(ctx, name, "etl_me", 200*time.Millisecond)
	if !errors.Is(err, state.ErrLocked) || !strings.Contains(err.Error(), "etl_other") || !strings.Contains(err.Error(), name) {
		t.Fatalf("Lock held by another process: %v; want ErrLocked naming the lock and etl_other", err)
	}
	if waited := time.Since(start); waited < 150*time.Millisecond {
		t.Errorf("gave up after %s, before its wait", waited)
	}
	// It cannot end the other process's lock.
	if err := s.Unlock(ctx, name, "etl_me"); !errors.Is(err, state.ErrLocked) {
		t.Fatalf("Unlock of another process's lock: %v, want ErrLocked", err)
	}

	// The holder dies without releasing: the kernel frees the lock and
	// the waiter gets it.
	got := make(chan error, 1)
	go func() {
		l, err := s.Lock(ctx, name, "etl_me", 30*time.Second)
		if err == nil {
			l.Keep() // held on for the check below
		}
		got <- err
	}()
	if err := holder.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("lock of a killed process: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the lock of a killed process was not freed")
	}

	// Now another process is refused, naming this process's owner.
	out, err := helperCmd(t, "try", path, name, "etl_third").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 || !strings.Contains(string(out), "etl_me") {
		t.Fatalf("another process took a held lock: %v, output %q", err, out)
	}
	// Once unlocked, another process gets it.
	if err := s.Unlock(ctx, name, "etl_me"); err != nil {
		t.Fatal(err)
	}
	if out, err := helperCmd(t, "try", path, name, "etl_third").CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "locked" {
		t.Fatalf("another process after Unlock: %v, output %q", err, out)
	}
}

func TestLockFileNamesStayInTheLocksDirectory(t *testing.T) {
	ctx := context.Background()
	s, path := openStore(t)
	root := filepath.Dir(filepath.Dir(path)) // the test's temporary directory
	locks := filepath.Join(filepath.Dir(path), "locks")
	names := []string{
		"../escape", "..", ".", "../../escape", "a/b", "/abs", "a\\b", "nul\x00byte", "line\nbreak",
		"render:etl_20250101_000000:parcels:csv", strings.Repeat("x/", 300), strings.Repeat("x/", 300) + "y",
		strings.Repeat("é", 200),
	}
	for _, n := range names {
		l, err := s.Lock(ctx, n, "job-1", 0)
		if err != nil {
			t.Fatalf("Lock(%q): %v", n, err)
		}
		defer l.Release(ctx)
	}
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if filepath.Dir(f) != locks {
			t.Errorf("lock file outside %s: %s", locks, f)
			continue
		}
		if base := filepath.Base(f); strings.HasPrefix(base, ".") || len(base) > 255 {
			t.Errorf("bad lock file name %q", base)
		}
		n++
	}
	if n != len(names) {
		t.Errorf("%d lock files for %d names: %v", n, len(names), files)
	}
	if _, err := s.Lock(ctx, "", "job-1", 0); err == nil {
		t.Error("empty lock name accepted")
	}
}

func TestTwoStoresOfOneDirectoryShareLocks(t *testing.T) {
	ctx := context.Background()
	s1, path := openStore(t)
	s2, err := file.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	l, err := s1.Lock(ctx, "d", "job-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	l.Keep()
	// The owner re-enters through another Store of the same directory.
	l2, err := s2.Lock(ctx, "d", "job-1", 0)
	if err != nil {
		t.Fatalf("re-entry through a second store: %v", err)
	}
	if _, err := s2.Lock(ctx, "d", "job-2", 0); !errors.Is(err, state.ErrLocked) {
		t.Fatalf("another owner: %v, want ErrLocked", err)
	}
	if err := s1.Unlock(ctx, "d", "job-1"); err != nil {
		t.Fatal(err)
	}
	_ = l2.Release(ctx)
	l3, err := s2.Lock(ctx, "d", "job-2", 0)
	if err != nil {
		t.Fatalf("after Unlock: %v", err)
	}
	_ = l3.Release(ctx)
}
