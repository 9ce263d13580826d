package workdir_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/workdir"
)

func TestAcquireAndLive(t *testing.T) {
	parent := t.TempDir()
	d, _, err := workdir.Acquire(parent, "w-", false)
	if err != nil {
		t.Fatal(err)
	}
	// Held by this process, through another open file: live.
	if live, err := workdir.Live(d.Path()); err != nil || !live {
		t.Fatalf("Live(own folder) = %v, %v", live, err)
	}
	// A second Acquire keeps the first folder.
	d2, removed, err := workdir.Acquire(parent, "w-", false)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if len(removed) != 0 {
		t.Fatalf("removed a live folder: %v", removed)
	}
	p := d.Path()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		t.Fatalf("Close left %s", p)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// A folder whose lock nobody holds is removed whatever its age; a folder
// without a lock file only once a day old; links and other names are left
// alone unless the parent is countysync's alone.
func TestSweep(t *testing.T) {
	parent, outside := t.TempDir(), t.TempDir()
	now := time.Now()
	old := now.Add(-workdir.StaleAfter - time.Hour)
	mk := func(rel string, mod time.Time) string {
		p := filepath.Join(parent, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		for q := p; q != parent; q = filepath.Dir(q) {
			os.Chtimes(q, mod, mod)
		}
		return p
	}
	mk("w-1-dead/lock", now) // a lock file nobody holds: its owner died
	mk("w-legacy-old/data", old)
	mk("w-legacy-new/data", now)
	mk("w-legacy-mixed/a", old)
	mk("w-legacy-mixed/b", now)
	mk("other-old", old)
	target := filepath.Join(outside, "keep")
	if err := os.WriteFile(target, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(outside, old, old)
	if err := os.Symlink(outside, filepath.Join(parent, "w-link")); err != nil {
		t.Fatal(err)
	}

	removed, err := workdir.Sweep(parent, "w-", false, now)
	if err != nil {
		t.Fatal(err)
	}
	for i := range removed {
		removed[i] = filepath.Base(removed[i])
	}
	slices.Sort(removed)
	if want := []string{"w-1-dead", "w-legacy-old"}; !slices.Equal(removed, want) {
		t.Fatalf("removed %v, want %v", removed, want)
	}
	if _, err := os.Stat(target); err != nil {
		t.Fatalf("a sweep went through a link: %v", err)
	}

	removed, err = workdir.Sweep(parent, "w-", true, now)
	if err != nil {
		t.Fatal(err)
	}
	for i := range removed {
		removed[i] = filepath.Base(removed[i])
	}
	slices.Sort(removed)
	// (The link is new: its own time counts, not its target's.)
	if want := []string{"other-old"}; !slices.Equal(removed, want) {
		t.Fatalf("with all: removed %v, want %v", removed, want)
	}
	if _, err := os.Stat(target); err != nil {
		t.Fatalf("a sweep went through a link: %v", err)
	}
}
