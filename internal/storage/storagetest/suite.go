package storagetest

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/countydatasync/countysync/internal/storage"
)

// Run runs the conformance suite against stores made by open; each call
// must return an empty, isolated store. Run calls open inside its
// subtests, so a test whose store needs a service must check for it
// before calling Run: otherwise every subtest skips and the test passes
// without checking anything.
func Run(t *testing.T, open func(t *testing.T) storage.Store) {
	ctx := context.Background()
	tmpFile := func(t *testing.T, s storage.Store, content string) string {
		t.Helper()
		f, err := os.CreateTemp(s.WorkDir(), "suite-*")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(content); err != nil {
			t.Fatal(err)
		}
		f.Close()
		return f.Name()
	}
	read := func(t *testing.T, s storage.Store, key string) string {
		t.Helper()
		rc, err := s.Open(ctx, key)
		if err != nil {
			t.Fatalf("open %s: %v", key, err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	t.Run("PutOpenList", func(t *testing.T) {
		s := open(t)
		if err := s.Put(ctx, "a_1.csv", tmpFile(t, s, "one"), true); err != nil {
			t.Fatal(err)
		}
		if err := s.PutBytes(ctx, "manifests/etl_1.json", []byte(`{"x":1}`)); err != nil {
			t.Fatal(err)
		}
		if got := read(t, s, "a_1.csv"); got != "one" {
			t.Errorf("a_1.csv = %q", got)
		}
		keys, err := s.List(ctx, "manifests/")
		if err != nil || len(keys) != 1 || keys[0] != "manifests/etl_1.json" {
			t.Errorf("List(manifests/) = %v, %v", keys, err)
		}
		all, _ := s.List(ctx, "")
		if len(all) != 2 {
			t.Errorf("List(\"\") = %v, want 2 keys", all)
		}
	})
	t.Run("ExclusivePutNeverOverwrites", func(t *testing.T) {
		s := open(t)
		if err := s.Put(ctx, "a_1.csv", tmpFile(t, s, "first"), true); err != nil {
			t.Fatal(err)
		}
		err := s.Put(ctx, "a_1.csv", tmpFile(t, s, "second"), true)
		if !errors.Is(err, storage.ErrExists) {
			t.Fatalf("second exclusive put: %v, want ErrExists", err)
		}
		if got := read(t, s, "a_1.csv"); got != "first" {
			t.Errorf("content = %q, want first", got)
		}
		if err := s.Put(ctx, "a_1.csv", tmpFile(t, s, "third"), false); err != nil {
			t.Fatal(err)
		}
		if got := read(t, s, "a_1.csv"); got != "third" {
			t.Errorf("content after replace = %q", got)
		}
	})
	t.Run("ConcurrentExclusivePutsOneWins", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for i := 0; i < 8; i++ {
			p := tmpFile(t, s, strings.Repeat("x", i+1))
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.Put(ctx, "race.json", p, true); err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d exclusive puts succeeded, want 1", wins)
		}
	})
	t.Run("LinkPointsAtNewest", func(t *testing.T) {
		s := open(t)
		for i, c := range []string{"old", "new"} {
			key := "d_" + c + ".csv"
			if err := s.Put(ctx, key, tmpFile(t, s, c), true); err != nil {
				t.Fatal(err)
			}
			if err := s.Link(ctx, "d.csv", key); err != nil {
				t.Fatalf("link %d: %v", i, err)
			}
			if got := read(t, s, "d.csv"); got != c {
				t.Errorf("latest = %q, want %q", got, c)
			}
		}
		if got := read(t, s, "d_old.csv"); got != "old" {
			t.Errorf("old file changed: %q", got)
		}
		// A latest name never points at nothing: linking a missing file
		// fails and leaves the latest name as it was.
		if err := s.Link(ctx, "d.csv", "d_missing.csv"); err == nil {
			t.Error("Link to a missing file succeeded")
		}
		if got := read(t, s, "d.csv"); got != "new" {
			t.Errorf("latest after a failed link = %q, want %q", got, "new")
		}
	})
	t.Run("LinkTargetSaysWhereALatestNamePoints", func(t *testing.T) {
		s := open(t)
		if _, err := s.LinkTarget(ctx, "d.csv"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("target of a missing latest name: %v, want ErrNotFound", err)
		}
		for _, key := range []string{"d_1.csv", "sub/d_2.csv"} {
			if err := s.Put(ctx, key, tmpFile(t, s, key), true); err != nil {
				t.Fatal(err)
			}
			if err := s.Link(ctx, "d.csv", key); err != nil {
				t.Fatal(err)
			}
			if got, err := s.LinkTarget(ctx, "d.csv"); err != nil || got != key {
				t.Errorf("LinkTarget after Link(d.csv, %s) = %q, %v", key, got, err)
			}
		}
		// Deleting a latest name removes the name, not its target.
		if err := s.Delete(ctx, "d.csv"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.LinkTarget(ctx, "d.csv"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("target of a deleted latest name: %v, want ErrNotFound", err)
		}
		if got := read(t, s, "sub/d_2.csv"); got != "sub/d_2.csv" {
			t.Errorf("target after deleting the latest name = %q", got)
		}
	})
	t.Run("MissingAndDelete", func(t *testing.T) {
		s := open(t)
		if _, err := s.Open(ctx, "nope.csv"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("open missing: %v, want ErrNotFound", err)
		}
		if err := s.Delete(ctx, "nope.csv"); err != nil {
			t.Errorf("delete missing: %v", err)
		}
		if err := s.PutBytes(ctx, "x/y.bin", []byte("z")); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, "x/y.bin"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Open(ctx, "x/y.bin"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("open deleted: %v", err)
		}
	})
	t.Run("MissingKeyIsNotPermanent", func(t *testing.T) {
		s := open(t)
		for _, key := range []string{"nope.csv", "no/such/dir/x.json"} {
			rc, err := s.Open(ctx, key)
			if err == nil {
				rc.Close()
				t.Fatalf("open missing %s succeeded", key)
			}
			if !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("open missing %s: %v, want ErrNotFound", key, err)
			}
			if storage.IsPermanent(err) {
				t.Errorf("open missing %s: %v is permanent; a missing key may appear later", key, err)
			}
		}
	})
	t.Run("RejectsEscapingKeys", func(t *testing.T) {
		s := open(t)
		for _, k := range []string{"../evil", "a/../../evil", "/abs", "a//b", ""} {
			err := s.PutBytes(ctx, k, []byte("x"))
			if err == nil {
				t.Errorf("PutBytes(%q) succeeded", k)
				continue
			}
			if !storage.IsPermanent(err) {
				t.Errorf("PutBytes(%q): %v is not permanent", k, err)
			}
			if _, err := s.Open(ctx, k); !storage.IsPermanent(err) || errors.Is(err, storage.ErrNotFound) {
				t.Errorf("Open(%q): %v, want a permanent error that is not ErrNotFound", k, err)
			}
		}
	})
	t.Run("NoTempFilesLeft", func(t *testing.T) {
		s := open(t)
		if err := s.PutBytes(ctx, "m.json", []byte("{}")); err != nil {
			t.Fatal(err)
		}
		keys, _ := s.List(ctx, "")
		for _, k := range keys {
			if strings.Contains(filepath.Base(k), "tmp") {
				t.Errorf("temporary object visible: %s", k)
			}
		}
	})
}
