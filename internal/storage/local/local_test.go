package local_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countydatasync/countysync/internal/storage"
	"github.com/countydatasync/countysync/internal/storage/local"
	"github.com/countydatasync/countysync/internal/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s, err := local.Open(filepath.Join(t.TempDir(), "exports"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestLatestIsRelativeSymlink(t *testing.T) {
	dir := t.TempDir()
	s, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.PutBytes(ctx, "d_1.csv", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.Link(ctx, "d.csv", "d_1.csv"); err != nil {
		t.Fatal(err)
	}
	target, err := os.Readlink(filepath.Join(dir, "d.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if target != "d_1.csv" {
		t.Errorf("symlink target = %q, want relative d_1.csv", target)
	}
}

func TestUnwritableDirectory(t *testing.T) {
	// A path under a regular file fails even for root, who ignores
	// permission bits.
	dir := t.TempDir()
	file := filepath.Join(dir, "plainfile")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := local.Open(filepath.Join(file, "exports"))
	if err == nil || !strings.Contains(err.Error(), "cannot be created") || !strings.Contains(err.Error(), file) {
		t.Fatalf("Open under a file: %v", err)
	}
}
