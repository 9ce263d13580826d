package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/testsvc"
)

// Private services for fault tests: a Redis and a MinIO of the test's own,
// on free loopback ports with data in the test's temp dir, so killing and
// restarting them disturbs no other test.

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// daemon is a restartable server process.
type daemon struct {
	t    *testing.T
	name string
	args []string
	env  []string
	cmd  *exec.Cmd
	up   func() bool
}

func (d *daemon) start() {
	d.t.Helper()
	d.cmd = exec.Command(d.name, d.args...)
	d.cmd.Env = append(os.Environ(), d.env...)
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		d.t.Fatalf("start %s: %v", d.name, err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for !d.up() {
		if time.Now().After(deadline) {
			d.t.Fatalf("%s did not come up", filepath.Base(d.name))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill stops the server at once (SIGKILL) and waits for it.
func (d *daemon) kill() {
	if d.cmd != nil && d.cmd.Process != nil {
		_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		_, _ = d.cmd.Process.Wait()
		d.cmd = nil
	}
}

// privateRedis starts a Redis of the test's own; with aof it keeps an
// append-only file (fsync always), without it keeps nothing across restarts.
func privateRedis(t *testing.T, aof bool) (*daemon, string) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server is needed (make test installs it)")
	}
	port := freePort(t)
	dir := t.TempDir()
	args := []string{"--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir}
	if aof {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	d := &daemon{t: t, name: bin, args: args, up: func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err != nil {
			return false
		}
		defer c.Close()
		c.Write([]byte("PING\r\n"))
		buf := make([]byte, 16)
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, _ := c.Read(buf)
		return n > 0 && string(buf[:5]) == "+PONG"
	}}
	d.start()
	t.Cleanup(d.kill)
	return d, fmt.Sprintf("redis://127.0.0.1:%d/0", port)
}

// minioBinary finds the MinIO that make test built.
func minioBinary(t *testing.T) string {
	dirs := []string{os.Getenv("COUNTYSYNC_TOOLS")}
	if c, err := os.UserCacheDir(); err == nil {
		dirs = append(dirs, filepath.Join(c, "countysync", "tools"))
	}
	for _, d := range dirs {
		if p := filepath.Join(d, "minio"); d != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p
	}
	testsvc.Need(t, "COUNTYSYNC_MINIO_BINARY_NOT_FOUND")
	return ""
}

// privateMinIO starts a MinIO of the test's own and returns it with the
// storage URL of a bucket in it; credentials are set in the environment.
func privateMinIO(t *testing.T) (*daemon, string) {
	port, console := freePort(t), freePort(t)
	dir := t.TempDir()
	user, pass := "faultuser", "fault-secret-key"
	t.Setenv("AWS_ACCESS_KEY_ID", user)
	t.Setenv("AWS_SECRET_ACCESS_KEY", pass)
	d := &daemon{t: t, name: minioBinary(t),
		args: []string{"server", "--quiet", "--address", fmt.Sprintf("127.0.0.1:%d", port),
			"--console-address", fmt.Sprintf("127.0.0.1:%d", console), dir},
		env: []string{"MINIO_ROOT_USER=" + user, "MINIO_ROOT_PASSWORD=" + pass, "MINIO_BROWSER=off"},
		// "ready", not "live": a live MinIO may still answer requests
		// with "Server not initialized yet".
		up: func() bool {
			r, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/minio/health/ready", port))
			if err != nil {
				return false
			}
			r.Body.Close()
			return r.StatusCode == 200
		}}
	d.start()
	t.Cleanup(d.kill)
	return d, fmt.Sprintf("s3://faults/run?endpoint=127.0.0.1:%d&secure=false", port)
}
