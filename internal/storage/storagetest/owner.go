package storagetest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/storage"
)

// OwnerMain, called first in a driver's TestMain, turns the test binary
// into the owner of a store's work folder when the environment variable
// env is set: it opens a store with open(value of env), writes a 1 MiB
// file called file into the store's WorkDir, prints the folder and waits
// to be killed (it never returns then). The tests of stale work folders
// start such owners with StartOwner and SIGKILL some of them.
func OwnerMain(env, file string, open func(string) (storage.Store, error)) {
	v := os.Getenv(env)
	if v == "" {
		return
	}
	s, err := open(v)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	if err := os.WriteFile(filepath.Join(s.WorkDir(), file), make([]byte, 1<<20), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	fmt.Println(s.WorkDir())
	for { // until killed (a sleeping goroutine, so the runtime sees no deadlock)
		time.Sleep(time.Hour)
	}
}

// StartOwner runs this test binary as an OwnerMain owner with env=value
// and returns the process with its work folder. The process is killed
// when the test ends.
func StartOwner(t *testing.T, env, value string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env+"="+value)
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
		t.Fatalf("owner process: %v", err)
	}
	return cmd, strings.TrimSpace(line)
}
