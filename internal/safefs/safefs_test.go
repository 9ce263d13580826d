package safefs_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/countydatasync/countysync/internal/safefs"
)

// plant makes a victim file and a symbolic link to it at link, the way
// someone who can write in an export directory would.
func plant(t *testing.T, link string) (victim string) {
	t.Helper()
	victim = filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	return victim
}

func unchanged(t *testing.T, victim string) {
	t.Helper()
	if b, err := os.ReadFile(victim); err != nil || string(b) != "precious" {
		t.Errorf("the link's target was written: %q, %v", b, err)
	}
}

// No function writes or reads through a link planted at its path (red-team
// S1): Create and OpenFile refuse it naming the link, Replace and
// WriteFile replace the link itself.
func TestNoFunctionFollowsALink(t *testing.T) {
	dir := t.TempDir()
	for name, write := range map[string]func(string) error{
		"Create": func(p string) error {
			f, err := safefs.Create(p)
			if err == nil {
				f.Write([]byte("x"))
				f.Close()
			}
			return err
		},
		"OpenFile": func(p string) error {
			f, err := safefs.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644)
			if err == nil {
				f.Write([]byte("x"))
				f.Close()
			}
			return err
		},
		"ReadFile": func(p string) error { _, err := safefs.ReadFile(p); return err },
	} {
		link := filepath.Join(dir, name)
		victim := plant(t, link)
		if err := write(link); !errors.Is(err, safefs.ErrLink) {
			t.Errorf("%s through a link: %v, want ErrLink", name, err)
		}
		unchanged(t, victim)
	}
	for name, write := range map[string]func(string) error{
		"Replace":   func(p string) error { f, err := safefs.Replace(p); f.Close(); return err },
		"Touch":     safefs.Touch,
		"WriteFile": func(p string) error { return safefs.WriteFile(p, []byte("mine")) },
	} {
		link := filepath.Join(dir, name)
		victim := plant(t, link)
		if err := write(link); err != nil {
			t.Errorf("%s over a link: %v", name, err)
		}
		unchanged(t, victim)
		if fi, err := os.Lstat(link); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s: %s is not a new regular file: %v", name, link, err)
		}
	}
	// Create never truncates a file either.
	p := filepath.Join(dir, "existing")
	os.WriteFile(p, []byte("precious"), 0o644)
	if _, err := safefs.Create(p); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create over a file: %v, want ErrExist", err)
	}
	unchanged(t, p)
}

// A folder of countysync's own is refused when it is a link, not a
// folder, or another user's.
func TestMkdirOwnRefusesForeignFolders(t *testing.T) {
	dir := t.TempDir()
	own := filepath.Join(dir, "a", "b")
	if err := safefs.MkdirOwn(own); err != nil {
		t.Fatal(err)
	}
	if err := safefs.MkdirOwn(own); err != nil {
		t.Fatalf("again: %v", err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(own, link); err != nil {
		t.Fatal(err)
	}
	if err := safefs.MkdirOwn(link); !errors.Is(err, safefs.ErrLink) {
		t.Errorf("a link: %v, want ErrLink", err)
	}
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	if err := safefs.MkdirOwn(file); err == nil {
		t.Error("a file was taken for a folder")
	}
	if err := safefs.CheckPath(dir, filepath.Join(link, "x", "y.csv")); !errors.Is(err, safefs.ErrLink) {
		t.Errorf("CheckPath through a link: %v", err)
	}
	if err := safefs.CheckPath(dir, filepath.Join(own, "new", "y.csv")); err != nil {
		t.Errorf("CheckPath of a real path: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Log("not root: cannot give a folder to another user to check that case")
		return
	}
	foreign := filepath.Join(dir, "foreign")
	os.Mkdir(foreign, 0o755)
	if err := os.Chown(foreign, 54321, 54321); err != nil {
		t.Fatal(err)
	}
	if err := safefs.MkdirOwn(foreign); err == nil {
		t.Error("another user's folder was accepted")
	}
}
